// lstm_step_train: one time step of an LSTM layer in a training forward, every batch row and both
// directions, saving what `lstm_step_backward` needs. CPU twin: `reference::lstm_step` (with the
// recording of `reference::forward_recorded`).
//
// Invocation (j, n, d) computes unit j's gates i, f, g, o from gx + b_hh + W_hh·h_prev, then
// c' = f·c + i·g and h' = o·tanh(c'). At step s the forward direction handles t = s, the reverse
// t = len_n − 1 − s; h_prev is h0 at the first step, else the output at the previous step's time.
//
// saved (D, T, N, S) row at (d, t, n): i, f, g, o (4H), c' (H), with a projection u = o·tanh(c')
// (H), then h_prev (H_out): S = 5H + H_out (+ H). A slot no step fills (t ≥ len_n) is zeroed, and
// so is its output. Without a projection h' goes to output[t] (and h_n at the row's last step);
// with one, `lstm_projection_train` finishes the step from u.

override PROJ: bool = false;

@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> gx: array<f32>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read> init: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<storage, read_write> saved: array<f32>;
@group(0) @binding(7) var<storage, read_write> final_state: array<f32>;

fn saved_width() -> u32 {
    return 5u * tp.hidden + tp.h_out + select(0u, tp.hidden, PROJ);
}

// Where h_prev sits in a saved row.
fn h_prev_offset() -> u32 {
    return 5u * tp.hidden + select(0u, tp.hidden, PROJ);
}

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
    let width = saved_width();
    if s >= len {
        let row = slot(d, s, n, width);
        for (var q = 0u; q < 5u; q++) {
            saved[row + q * hidden + j] = 0.0;
        }
        if PROJ {
            saved[row + 5u * hidden + j] = 0.0;
        }
        if j < tp.h_out {
            saved[row + h_prev_offset() + j] = 0.0;
            if !PROJ {
                output[out_at(s, n, d * tp.h_out + j)] = 0.0;
            }
        }
        return;
    }
    let t = step_time(s, len, d);
    var t_prev = 0u;
    if s > 0u {
        t_prev = step_time(s - 1u, len, d);
    }
    let g0 = slot(d, t, n, 4u * hidden) + j;
    var pre = vec4<f32>(gx[g0], gx[g0 + hidden], gx[g0 + 2u * hidden], gx[g0 + 3u * hidden]);
    if tp.has_bias != 0u {
        let b = tp.b_hh + d * tp.group_stride + j;
        pre += vec4<f32>(params[b], params[b + hidden], params[b + 2u * hidden], params[b + 3u * hidden]);
    }
    let k_len = tp.h_out;
    let w0 = w_hh_at(d, j, 0u);
    let gate = hidden * k_len;
    for (var k = 0u; k < k_len; k++) {
        var h = 0.0;
        if s == 0u {
            h = init[state_at(d, n, k)];
        } else {
            h = output[out_at(t_prev, n, d * k_len + k)];
        }
        let w = w0 + k;
        pre += vec4<f32>(params[w], params[w + gate], params[w + 2u * gate], params[w + 3u * gate]) * h;
    }
    let row = slot(d, t, n, width);
    var c_prev = 0.0;
    if s == 0u {
        c_prev = init[cell_at(d, n, j)];
    } else {
        c_prev = saved[slot(d, t_prev, n, width) + 4u * hidden + j];
    }
    let i_gate = sigmoid(pre.x);
    let f_gate = sigmoid(pre.y);
    let g_gate = tanh_stable(pre.z);
    let o_gate = sigmoid(pre.w);
    let c = f_gate * c_prev + i_gate * g_gate;
    let h = o_gate * tanh_stable(c);
    saved[row + j] = i_gate;
    saved[row + hidden + j] = f_gate;
    saved[row + 2u * hidden + j] = g_gate;
    saved[row + 3u * hidden + j] = o_gate;
    saved[row + 4u * hidden + j] = c;
    if j < k_len {
        if s == 0u {
            saved[row + h_prev_offset() + j] = init[state_at(d, n, j)];
        } else {
            saved[row + h_prev_offset() + j] = output[out_at(t_prev, n, d * k_len + j)];
        }
    }
    if PROJ {
        saved[row + 5u * hidden + j] = h;
    } else {
        output[out_at(t, n, d * k_len + j)] = h;
        if s + 1u == len {
            final_state[state_at(d, n, j)] = h;
        }
    }
    if s + 1u == len {
        final_state[cell_at(d, n, j)] = c;
    }
}
