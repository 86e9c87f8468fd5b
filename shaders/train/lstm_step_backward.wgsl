// lstm_step_backward: one step of an LSTM layer's backward, every batch row and both directions.
// CPU twin: `reference_backward::lstm_step_backward`.
//
// Dispatched with tp.step = s + 1 for s = T − 1 down to −1. Invocation (j, n, d) first completes
// ∂L/∂h_s of its unit from the step after: the carried part in `state` plus, when step s + 1 ran
// for row n, Σ_r W_hh[r, j]·dG_{s+1}[r] (W_hhᵀ through the gate gradients that dispatch wrote).
// Then, for a step s the row ran, it adds ∂L/∂output[t] and turns ∂L/∂h and the carried ∂L/∂c into
// the gate gradients of step s from the saved i, f, g, o, c' and c_prev:
//   ∂c = ∂c' + ∂h·o·(1 − tanh²c'), di = ∂c·g·i(1 − i), df = ∂c·c_prev·f(1 − f),
//   dg = ∂c·i·(1 − g²), do = ∂h·tanh c'·o(1 − o), ∂c_prev = ∂c·f.
// A step past the row's length passes ∂L/∂h and ∂L/∂c through unchanged (the forward kept the
// state there) and writes zero gate gradients in its slot. The last dispatch (s = −1) writes
// ∂L/∂h0 and ∂L/∂c0.
//
// With a projection (PROJ), `lstm_projection_backward` (dispatched just before, same step) owns
// ∂L/∂h (P wide) and writes it into the dG row after the gates; this kernel then takes
// ∂L/∂u = W_hrᵀ·∂L/∂h in place of ∂L/∂h.
//
// dg (D, T, N, 4H (+ P)) row at (d, t, n): the gate gradients i, f, g, o (then ∂L/∂h_t with a
// projection). state: ∂L/∂h carried (D, N, H_out), then ∂L/∂c (D, N, H). saved: see
// `lstm_step_train`.

override PROJ: bool = false;

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
    let k_len = tp.h_out;
    let dg_width = 4u * hidden + select(0u, k_len, PROJ);
    let saved_width = 5u * hidden + k_len + select(0u, hidden, PROJ);
    let dh_at = (d * tp.batch + n) * k_len + j;
    let dc_at = tp.dirs * tp.batch * k_len + (d * tp.batch + n) * hidden + j;

    // The first dispatch (s = T − 1) starts from grad_h_n and grad_c_n.
    let first = step == tp.steps;
    var dc_in = state[dc_at];
    if first {
        dc_in = grad_init[tp.final_at + cell_at(d, n, j)];
    }
    var carry = 0.0;
    if !PROJ {
        carry = state[dh_at];
        if first {
            carry = grad_init[tp.final_at + state_at(d, n, j)];
        }
        if step < tp.steps && step < len {
            let next = slot(d, step_time(step, len, d), n, dg_width);
            for (var r = 0u; r < 4u * hidden; r++) {
                carry += params[w_hh_at(d, r, j)] * dg[next + r];
            }
        }
    }
    if step == 0u {
        if !PROJ {
            grad_init[state_at(d, n, j)] = carry;
        }
        grad_init[cell_at(d, n, j)] = state[dc_at];
        return;
    }
    let s = step - 1u;
    if s >= len {
        if !PROJ {
            state[dh_at] = carry;
        }
        state[dc_at] = dc_in;
        let row = slot(d, s, n, dg_width);
        for (var q = 0u; q < 4u; q++) {
            dg[row + q * hidden + j] = 0.0;
        }
        return;
    }
    let t = step_time(s, len, d);
    let row = slot(d, t, n, dg_width);
    var dh = 0.0;
    if PROJ {
        let w = tp.w_hr + d * tp.group_stride + j;
        for (var p = 0u; p < k_len; p++) {
            dh += params[w + p * hidden] * dg[row + 4u * hidden + p];
        }
    } else {
        dh = carry + d_out[out_at(t, n, d * k_len + j)];
        state[dh_at] = 0.0;
    }
    let sv = slot(d, t, n, saved_width);
    let i_gate = saved[sv + j];
    let f_gate = saved[sv + hidden + j];
    let g_gate = saved[sv + 2u * hidden + j];
    let o_gate = saved[sv + 3u * hidden + j];
    let tc = tanh_stable(saved[sv + 4u * hidden + j]);
    var c_prev = 0.0;
    if s == 0u {
        c_prev = init[cell_at(d, n, j)];
    } else {
        c_prev = saved[slot(d, step_time(s - 1u, len, d), n, saved_width) + 4u * hidden + j];
    }
    let dc = dc_in + dh * o_gate * (1.0 - tc * tc);
    dg[row + j] = dc * g_gate * i_gate * (1.0 - i_gate);
    dg[row + hidden + j] = dc * c_prev * f_gate * (1.0 - f_gate);
    dg[row + 2u * hidden + j] = dc * i_gate * (1.0 - g_gate * g_gate);
    dg[row + 3u * hidden + j] = dh * tc * o_gate * (1.0 - o_gate);
    state[dc_at] = dc * f_gate;
}
