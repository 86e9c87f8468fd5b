// rnn_step: one time step of an Elman RNN layer for every batch row and both directions:
// h' = act(gx + W_hh h), the biases being already in gx. CPU twin: `cpu::rnn_step`.
//
// Invocation (j, row block, d) owns hidden unit j of ROWS batch rows of direction d. At step s the
// forward direction handles t = s, the reverse t = len_n - 1 - s; a row with s >= len_n keeps its
// state and writes 0 to output[s] (its direction's half), so every output slot is written once.
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, K, 4·⌈H/4⌉), K-major (K = H), rows zero-padded to
// a multiple of 4 units; states (L, D, N, H) with
// this layer at state_base; output (T, N, D·H).

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
override RELU: bool = false;
// Batch rows per invocation. Keep in sync with `STEP_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<f32>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read> h_prev: array<f32>;
@group(0) @binding(5) var<storage, read_write> h_next: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;

// NaN test on the bits, which no floating-point optimisation may drop.
fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// tanh without overflow for large |x| (some drivers' tanh returns NaN past |x| ~ 44); NaN stays NaN.
fn tanh_stable(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    let t = (1.0 - e) / (1.0 + e);
    return select(select(-t, t, x >= 0.0), x, is_nan(x));
}

// PyTorch's relu: NaN stays NaN. The test is on the bits because a compiler may turn a float
// compare-and-select into max(x, 0), which returns 0 for NaN (Mesa's GL driver does).
fn relu(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    let negative = (bits >> 31u) == 1u && (bits & 0x7fffffffu) <= 0x7f800000u;
    return select(x, 0.0, negative);
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let hidden = params.hidden;
    let n_rows = params.batch;
    let n0 = gid.y * ROWS;
    if j >= hidden || n0 >= n_rows {
        return;
    }
    let d = gid.z;
    let k_len = params.h_out;
    let state = params.state_base + d * n_rows * k_len;

    var row: array<u32, ROWS>;
    var acc: array<f32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        row[r] = state + min(n0 + r, n_rows - 1u) * k_len;
        acc[r] = 0.0;
    }
    // Rows of W_hhᵀ are padded to a multiple of 4 units (read as vec4 by `rnn_sequence`).
    let stride = (hidden + 3u) / 4u * 4u;
    let w_base = d * k_len * stride + j;
    if n_rows - n0 == 1u {
        // A block of one row (batch 1): one h_prev load per w_hh load, not ROWS of the same row.
        for (var k = 0u; k < k_len; k++) {
            acc[0] += w_hh[w_base + k * stride] * h_prev[row[0] + k];
        }
    } else {
        for (var k = 0u; k < k_len; k++) {
            let w = w_hh[w_base + k * stride];
            for (var r = 0u; r < ROWS; r++) {
                acc[r] += w * h_prev[row[r] + k];
            }
        }
    }

    let s = params.step;
    let gx_base = d * params.chunk_cap * n_rows + (s - params.chunk_start) * n_rows;
    let gx_stride = params.gx_cols4 * 4u;
    let col = d * k_len + j;
    for (var r = 0u; r < ROWS; r++) {
        let n = n0 + r;
        if n >= n_rows {
            break;
        }
        let own = row[r] + j;
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
        let pre = gx[(gx_base + n) * gx_stride + j] + acc[r];
        var h: f32;
        if RELU {
            h = relu(pre);
        } else {
            h = tanh_stable(pre);
        }
        h_next[own] = h;
        output[(t * n_rows + n) * params.out_width + col] = h;
    }
}
