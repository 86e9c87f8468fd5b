// gru_step: one time step of a GRU layer for every batch row and both directions. CPU twin:
// `cpu::gru_step`.
//
// Invocation (j, row block, d) owns hidden unit j of ROWS batch rows of direction d: from
// W_hh h (gates r, z, n) and gx it computes r = σ(gx_r + W_hr h), z = σ(gx_z + W_hz h),
// n = tanh(gx_n + r·(W_hn h + b_hn)), h' = (1 − z)·n + z·h in registers. gx holds b_ir + b_hr and
// b_iz + b_hz but only b_in: b_hn stays inside the product with r, as PyTorch computes it.
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half).
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, K, H) of vec4 (r, z, n, 0 of unit j for input k),
// K = H; b_hn (D, H); states (L, D, N, H) with this layer at state_base; output (T, N, D·H).

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
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b_hn: array<f32>;
@group(0) @binding(4) var<storage, read> lengths: array<u32>;
@group(0) @binding(5) var<storage, read> h_prev: array<f32>;
@group(0) @binding(6) var<storage, read_write> h_next: array<f32>;
@group(0) @binding(7) var<storage, read_write> output: array<f32>;

// NaN test on the bits, which no floating-point optimisation may drop.
fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// Logistic sigmoid without overflow; NaN stays NaN.
fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    let s = 1.0 / (1.0 + e);
    return select(select(e * s, s, x >= 0.0), x, is_nan(x));
}

// tanh without overflow for large |x| (some drivers' tanh returns NaN past |x| ~ 44); NaN stays NaN.
fn tanh_stable(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    let t = (1.0 - e) / (1.0 + e);
    return select(select(-t, t, x >= 0.0), x, is_nan(x));
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
    var acc: array<vec4<f32>, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        row[r] = state + min(n0 + r, n_rows - 1u) * k_len;
        acc[r] = vec4<f32>(0.0);
    }
    let w_base = d * k_len * hidden + j;
    if n_rows - n0 == 1u {
        // A block of one row (batch 1): one h_prev load per w_hh load, not ROWS of the same row.
        for (var k = 0u; k < k_len; k++) {
            acc[0] += w_hh[w_base + k * hidden] * h_prev[row[0] + k];
        }
    } else {
        for (var k = 0u; k < k_len; k++) {
            let w = w_hh[w_base + k * hidden];
            for (var r = 0u; r < ROWS; r++) {
                acc[r] += w * h_prev[row[r] + k];
            }
        }
    }

    let s = params.step;
    let gx_base = d * params.chunk_cap * n_rows + (s - params.chunk_start) * n_rows;
    let gx_stride = params.gx_cols4 * 4u;
    let col = d * k_len + j;
    let bias_n = b_hn[d * hidden + j];
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
        let g = (gx_base + n) * gx_stride + j;
        let r_gate = sigmoid(gx[g] + acc[r].x);
        let z_gate = sigmoid(gx[g + hidden] + acc[r].y);
        let n_gate = tanh_stable(gx[g + 2u * hidden] + r_gate * (acc[r].z + bias_n));
        let h = (1.0 - z_gate) * n_gate + z_gate * h_prev[own];
        h_next[own] = h;
        output[(t * n_rows + n) * params.out_width + col] = h;
    }
}
