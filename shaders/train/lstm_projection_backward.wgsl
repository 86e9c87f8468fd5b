// lstm_projection_backward: the ∂L/∂h part of one step of an LSTM layer's backward with
// proj_size = P, dispatched just before `lstm_step_backward` of the same step. CPU twin:
// `reference_backward::lstm_projection_backward` (with the W_hhᵀ carry of its caller).
//
// Invocation (p, n, d) completes ∂L/∂h_s[p] from the step after: the carried part in `state` plus,
// when step s + 1 ran for row n, Σ_r W_hh[r, p]·dG_{s+1}[r]; for a step s the row ran it adds
// ∂L/∂output[t][p] and writes the sum into the dG row (after the 4H gates) for
// `lstm_step_backward` and the ∂W_hr GEMM; past the row's length it carries it on and writes 0
// there. The last dispatch (s = −1) writes ∂L/∂h0. Layouts: see `lstm_step_backward`.

@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read> d_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> dg: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_init: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x % tp.h_out;
    let n = gid.x / tp.h_out;
    let k_len = tp.h_out;
    if p >= k_len || n >= tp.batch {
        return;
    }
    let d = gid.z;
    let len = lengths[n];
    let step = tp.step;
    let gates = 4u * tp.hidden;
    let dg_width = gates + k_len;
    let dh_at = (d * tp.batch + n) * k_len + p;
    var carry = state[dh_at];
    if step == tp.steps {
        // The first dispatch (s = T − 1) starts from grad_h_n.
        carry = grad_init[tp.final_at + state_at(d, n, p)];
    }
    if step < tp.steps && step < len {
        let next = slot(d, step_time(step, len, d), n, dg_width);
        for (var r = 0u; r < gates; r++) {
            carry += params[w_hh_at(d, r, p)] * dg[next + r];
        }
    }
    if step == 0u {
        grad_init[state_at(d, n, p)] = carry;
        return;
    }
    let s = step - 1u;
    if s >= len {
        state[dh_at] = carry;
        dg[slot(d, s, n, dg_width) + gates + p] = 0.0;
        return;
    }
    let t = step_time(s, len, d);
    dg[slot(d, t, n, dg_width) + gates + p] = carry + d_out[out_at(t, n, d * k_len + p)];
    state[dh_at] = 0.0;
}
