// gru_step_backward: one step of a GRU layer's backward, every batch row and both directions.
// CPU twin: `reference_backward::gru_step_backward`.
//
// Dispatched with tp.step = s + 1 for s = T − 1 down to −1. Invocation (j, n, d) completes
// ∂L/∂h_s of unit j from the step after: the carried part in `state` (z·∂L/∂h of that step, or all
// of it past the row's length) plus, when step s + 1 ran for row n, Σ_r W_hh[r, j]·dGh_{s+1}[r].
// For a step s the row ran it adds ∂L/∂output[t] and, from the saved r, z, n, gh_n and h_prev:
//   dn = ∂h·(1 − z)·(1 − n²), dr = dn·gh_n·r(1 − r), dz = ∂h·(h_prev − n)·z(1 − z),
// with dGx = (dr, dz, dn) for the input side and dGh = (dr, dz, dn·r) for the hidden side (b_hn
// sits inside r·(W_hn h + b_hn)); z·∂h is carried on. The last dispatch (s = −1) writes ∂L/∂h0.
//
// dg (D, T, N, 6H) row at (d, t, n): dGx (3H) then dGh (3H). state: ∂L/∂h carried (D, N, H).
// saved: see `gru_step_train`.

@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read> init: array<f32>;
@group(0) @binding(5) var<storage, read> d_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> dg: array<f32>;
@group(0) @binding(7) var<storage, read_write> state: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad_init: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x % tp.hidden;
    let hidden = tp.hidden;
    let n = gid.x / tp.hidden;
    if j >= hidden || n >= tp.batch {
        return;
    }
    let d = gid.z;
    let len = lengths[n];
    let step = tp.step;
    let dg_width = 6u * hidden;
    let dh_at = (d * tp.batch + n) * hidden + j;
    var carry = state[dh_at];
    if step == tp.steps {
        // The first dispatch (s = T − 1) starts from grad_h_n.
        carry = grad_init[tp.final_at + state_at(d, n, j)];
    }
    if step < tp.steps && step < len {
        let next = slot(d, step_time(step, len, d), n, dg_width) + 3u * hidden;
        for (var r = 0u; r < 3u * hidden; r++) {
            carry += params[w_hh_at(d, r, j)] * dg[next + r];
        }
    }
    if step == 0u {
        grad_init[state_at(d, n, j)] = carry;
        return;
    }
    let s = step - 1u;
    if s >= len {
        state[dh_at] = carry;
        let row = slot(d, s, n, dg_width);
        for (var q = 0u; q < 6u; q++) {
            dg[row + q * hidden + j] = 0.0;
        }
        return;
    }
    let t = step_time(s, len, d);
    let dh = carry + d_out[out_at(t, n, d * hidden + j)];
    let sv = slot(d, t, n, 5u * hidden);
    let r_gate = saved[sv + j];
    let z_gate = saved[sv + hidden + j];
    let n_gate = saved[sv + 2u * hidden + j];
    let gh_n = saved[sv + 3u * hidden + j];
    let h_prev = saved[sv + 4u * hidden + j];
    let d_n = dh * (1.0 - z_gate) * (1.0 - n_gate * n_gate);
    let d_r = d_n * gh_n * r_gate * (1.0 - r_gate);
    let d_z = dh * (h_prev - n_gate) * z_gate * (1.0 - z_gate);
    let row = slot(d, t, n, dg_width);
    dg[row + j] = d_r;
    dg[row + hidden + j] = d_z;
    dg[row + 2u * hidden + j] = d_n;
    dg[row + 3u * hidden + j] = d_r;
    dg[row + 4u * hidden + j] = d_z;
    dg[row + 5u * hidden + j] = d_n * r_gate;
    state[dh_at] = dh * z_gate;
}
