// rnn_step_backward: one step of an RNN layer's backward, every batch row and both directions.
// CPU twin: `reference_backward::rnn_step_backward`.
//
// Dispatched with tp.step = s + 1 for s = T − 1 down to −1. Invocation (j, n, d) completes
// ∂L/∂h_s of unit j from the step after (the carried part plus, when step s + 1 ran for row n,
// Σ_r W_hh[r, j]·dG_{s+1}[r]); for a step s the row ran it adds ∂L/∂output[t] and writes
// dG = ∂h·(1 − h'²) (tanh) or ∂h where h' > 0 (relu: PyTorch's threshold_backward on the result,
// so NaN passes) from the saved h'. Past the row's length ∂L/∂h passes through and the slot's dG
// is 0. The last dispatch (s = −1) writes ∂L/∂h0.
//
// dg (D, T, N, H); state: ∂L/∂h carried (D, N, H); saved: see `rnn_step_train`.

override RELU: bool = false;

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
    let dh_at = (d * tp.batch + n) * hidden + j;
    var carry = state[dh_at];
    if step == tp.steps {
        // The first dispatch (s = T − 1) starts from grad_h_n.
        carry = grad_init[tp.final_at + state_at(d, n, j)];
    }
    if step < tp.steps && step < len {
        let next = slot(d, step_time(step, len, d), n, hidden);
        for (var r = 0u; r < hidden; r++) {
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
        dg[slot(d, s, n, hidden) + j] = 0.0;
        return;
    }
    let t = step_time(s, len, d);
    let dh = carry + d_out[out_at(t, n, d * hidden + j)];
    let h = saved[slot(d, t, n, 2u * hidden) + hidden + j];
    var dpre = dh * (1.0 - h * h);
    if RELU {
        dpre = select(dh, 0.0, h <= 0.0);
    }
    dg[slot(d, t, n, hidden) + j] = dpre;
    state[dh_at] = 0.0;
}
