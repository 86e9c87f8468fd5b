// gru_step_train: one time step of a GRU layer in a training forward, every batch row and both
// directions, saving what `gru_step_backward` needs. CPU twin: `reference::gru_step`.
//
// Invocation (j, n, d): gh = W_hh·h_prev + b_hh for unit j's rows r, z, n; r = σ(gx_r + gh_r),
// z = σ(gx_z + gh_z), n = tanh(gx_n + r·gh_n) (b_hn stays inside the product with r), then
// h' = (1 − z)·n + z·h_prev, to output[t] and h_n at the row's last step.
//
// saved (D, T, N, 5H) row at (d, t, n): r, z, n, gh_n (4H), h_prev (H). A slot no step fills
// (t ≥ len_n) is zeroed, and so is its output.

@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> gx: array<f32>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read> init: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<storage, read_write> saved: array<f32>;
@group(0) @binding(7) var<storage, read_write> final_state: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x % tp.hidden;
    let hidden = tp.hidden;
    let n = gid.x / tp.hidden;
    if j >= hidden || n >= tp.batch {
        return;
    }
    let d = gid.z;
    let s = tp.step;
    let len = lengths[n];
    let width = 5u * hidden;
    if s >= len {
        let row = slot(d, s, n, width);
        for (var q = 0u; q < 5u; q++) {
            saved[row + q * hidden + j] = 0.0;
        }
        output[out_at(s, n, d * hidden + j)] = 0.0;
        return;
    }
    let t = step_time(s, len, d);
    var t_prev = 0u;
    if s > 0u {
        t_prev = step_time(s - 1u, len, d);
    }
    var gh = vec3<f32>(0.0);
    if tp.has_bias != 0u {
        let b = tp.b_hh + d * tp.group_stride + j;
        gh = vec3<f32>(params[b], params[b + hidden], params[b + 2u * hidden]);
    }
    let w0 = w_hh_at(d, j, 0u);
    let gate = hidden * hidden;
    var h_own = 0.0;
    for (var k = 0u; k < hidden; k++) {
        var h = 0.0;
        if s == 0u {
            h = init[state_at(d, n, k)];
        } else {
            h = output[out_at(t_prev, n, d * hidden + k)];
        }
        if k == j {
            h_own = h;
        }
        let w = w0 + k;
        gh += vec3<f32>(params[w], params[w + gate], params[w + 2u * gate]) * h;
    }
    let g0 = slot(d, t, n, 3u * hidden) + j;
    let r_gate = sigmoid(gx[g0] + gh.x);
    let z_gate = sigmoid(gx[g0 + hidden] + gh.y);
    let n_gate = tanh_stable(gx[g0 + 2u * hidden] + r_gate * gh.z);
    let h = (1.0 - z_gate) * n_gate + z_gate * h_own;
    let row = slot(d, t, n, width);
    saved[row + j] = r_gate;
    saved[row + hidden + j] = z_gate;
    saved[row + 2u * hidden + j] = n_gate;
    saved[row + 3u * hidden + j] = gh.z;
    saved[row + 4u * hidden + j] = h_own;
    output[out_at(t, n, d * hidden + j)] = h;
    if s + 1u == len {
        final_state[state_at(d, n, j)] = h;
    }
}
