// lstm_projection: the second half of an LSTM step with proj_size = P: h' = W_hr u for every
// batch row and both directions, u = o·tanh(c') written by `lstm_step`. CPU twin: the projection
// at the end of `cpu::lstm_step`.
//
// Invocation (p, row block, d) owns output unit p of ROWS batch rows of direction d. Rows past
// their length keep their state and write 0 to output[s] (their direction's half).
//
// Layouts: w_hr (D, H, P), K-major (the transpose of weight_hr); u (D, N, H); h states
// (L, D, N, P) with this layer at state_base; output (T, N, D·P).

// Keep in sync with `Params` in src/gpu/kernels.rs.
struct Params {
    batch: u32,
    in_width: u32,
    hidden: u32,
    h_out: u32,
    step: u32,
    chunk_start: u32,
    chunk_steps: u32,
    chunk_cap: u32,
    gx_cols4: u32,
    out_width: u32,
    state_base: u32,
    cell_base: u32,
}

override WG: u32 = 64u;
// Batch rows per invocation. Keep in sync with `STEP_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> w_hr: array<f32>;
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

    var row: array<u32, ROWS>;
    var acc: array<f32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        row[r] = (d * n_rows + min(n0 + r, n_rows - 1u)) * hidden;
        acc[r] = 0.0;
    }
    let w_base = d * hidden * proj + p;
    if n_rows - n0 == 1u {
        // A block of one row (batch 1): one u load per w_hr load, not ROWS of the same row.
        for (var k = 0u; k < hidden; k++) {
            acc[0] += w_hr[w_base + k * proj] * u[row[0] + k];
        }
    } else {
        for (var k = 0u; k < hidden; k++) {
            let w = w_hr[w_base + k * proj];
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
            h_next[own] = h_prev[own];
            output[(s * n_rows + n) * params.out_width + col] = 0.0;
            continue;
        }
        var t = s;
        if d == 1u {
            t = len - 1u - s;
        }
        h_next[own] = acc[r];
        output[(t * n_rows + n) * params.out_width + col] = acc[r];
    }
}
