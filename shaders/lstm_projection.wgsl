// lstm_projection: the second half of an LSTM step with proj_size = P: h' = W_hr u for every
// batch row and both directions, u = o·tanh(c') written by `lstm_step`. CPU twin: the projection
// at the end of `reference::lstm_step`.
//
// Invocation (p, row block, d) owns output unit p of ROWS batch rows of direction d. Rows past
// their length keep their state and write 0 to output[s] (their direction's half).
//
// Layouts: w_hr (D, H, P), K-major (the transpose of weight_hr); u (D, N, H); h states
// (L, D, N, P) with this layer at state_base; output (T, N, D·P).
//
// Composed after weights_f32.wgsl, prelude.wgsl, params.wgsl and step_common.wgsl (`WG`, `ROWS`,
// the row block, `keep_row`, `emit_row`).

@group(0) @binding(1) var<storage, read> w_hr: array<W>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read> h_prev: array<f32>;
@group(0) @binding(5) var<storage, read_write> h_next: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    let proj = params.h_out;
    let n_rows = params.batch;
    let n0 = gid.y * ROWS;
    if p >= proj || n0 >= n_rows {
        return;
    }
    let d = gid.z;
    let hidden = params.hidden;
    let row = block_rows(d * n_rows * hidden, n0, hidden);

    var acc: array<f32, ROWS>;
    let w_base = d * hidden * proj + p;
    if n_rows - n0 == 1u {
        // A block of one row (batch 1): one u load per w_hr load, not ROWS of the same row.
        for (var k = 0u; k < hidden; k++) {
            acc[0] += f32(w_hr[w_base + k * proj]) * u[row[0] + k];
        }
    } else {
        for (var k = 0u; k < hidden; k++) {
            let w = f32(w_hr[w_base + k * proj]);
            for (var r = 0u; r < ROWS; r++) {
                acc[r] += w * u[row[r] + k];
            }
        }
    }

    let s = params.step;
    let state = params.state_base + d * n_rows * proj;
    let col = d * proj + p;
    for (var r = 0u; r < ROWS; r++) {
        let n = n0 + r;
        if n >= n_rows {
            break;
        }
        let own = state + n * proj + p;
        let len = lengths[n];
        if s >= len {
            keep_row(own, n, col);
            continue;
        }
        emit_row(own, step_time(s, len, d), n, col, acc[r]);
    }
}
