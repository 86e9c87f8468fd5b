// lstm_projection_train: the projection h' = W_hr·u that finishes an LSTM training step with
// proj_size = P, after `lstm_step_train` saved u = o·tanh(c') (H) in the saved row. CPU twin:
// `reference::lstm_projection`.
//
// Invocation (p, n, d) writes h'[p] to output[t] (and h_n at the row's last step); a slot no step
// fills gets 0 in the output.

@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read> saved: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
@group(0) @binding(5) var<storage, read_write> final_state: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x % tp.h_out;
    let n = gid.x / tp.h_out;
    if p >= tp.h_out || n >= tp.batch {
        return;
    }
    let d = gid.z;
    let s = tp.step;
    let len = lengths[n];
    if s >= len {
        output[out_at(s, n, d * tp.h_out + p)] = 0.0;
        return;
    }
    let hidden = tp.hidden;
    let t = step_time(s, len, d);
    let u = slot(d, t, n, 6u * hidden + tp.h_out) + 5u * hidden;
    let w = tp.w_hr + d * tp.group_stride + p * hidden;
    var h = 0.0;
    for (var j = 0u; j < hidden; j++) {
        h += params[w + j] * saved[u + j];
    }
    output[out_at(t, n, d * tp.h_out + p)] = h;
    if s + 1u == len {
        final_state[state_at(d, n, p)] = h;
    }
}
