// rnn_step_train: one time step of an RNN layer in a training forward, every batch row and both
// directions, saving what `rnn_step_backward` needs. CPU twin: `reference::rnn_step`.
//
// Invocation (j, n, d): h' = act(gx + b_hh + W_hh·h_prev), act tanh or relu (RELU), to output[t]
// and h_n at the row's last step. saved (D, T, N, 2H) row at (d, t, n): h_prev (H), h' (H). A slot
// no step fills (t ≥ len_n) is zeroed, and so is its output.

override RELU: bool = false;

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
    let width = 2u * hidden;
    if s >= len {
        let row = slot(d, s, n, width);
        saved[row + j] = 0.0;
        saved[row + hidden + j] = 0.0;
        output[out_at(s, n, d * hidden + j)] = 0.0;
        return;
    }
    let t = step_time(s, len, d);
    var t_prev = 0u;
    if s > 0u {
        t_prev = step_time(s - 1u, len, d);
    }
    var pre = gx[slot(d, t, n, hidden) + j];
    if tp.has_bias != 0u {
        pre += params[tp.b_hh + d * tp.group_stride + j];
    }
    let w0 = w_hh_at(d, j, 0u);
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
        pre += params[w0 + k] * h;
    }
    var h = tanh_stable(pre);
    if RELU {
        h = relu(pre);
    }
    let row = slot(d, t, n, width);
    saved[row + j] = h_own;
    saved[row + hidden + j] = h;
    output[out_at(t, n, d * hidden + j)] = h;
    if s + 1u == len {
        final_state[state_at(d, n, j)] = h;
    }
}
