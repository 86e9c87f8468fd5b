// lstm_step: one time step of an LSTM layer for every batch row and both directions. CPU twin:
// `cpu::lstm_step`.
//
// Invocation (j, row block, d) owns hidden unit j of ROWS batch rows of direction d: it computes
// the four gates i, f, g, o of unit j from W_hh h + gx (biases already in gx), applies the
// nonlinearities and c' = f·c + i·g, h' = o·tanh(c') in registers; gates never go to memory.
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half).
//
// With a projection (PROJ), h' = W_hr (o·tanh(c')) needs every unit of the row: this kernel then
// writes o·tanh(c') to `h_next` bound to a (D, N, H) scratch buffer and `lstm_projection` finishes
// the step (masked rows are left entirely to it).
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, K, H) of vec4 (i, f, g, o of unit j for input k),
// K = H_out; h states (L, D, N, H_out) with this layer at state_base; c (L, D, N, H) at cell_base;
// output (T, N, D·H_out).

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
override PROJ: bool = false;
// Batch rows per invocation. Keep in sync with `STEP_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read> h_prev: array<f32>;
@group(0) @binding(5) var<storage, read_write> h_next: array<f32>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
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
    for (var r = 0u; r < ROWS; r++) {
        let n = n0 + r;
        if n >= n_rows {
            break;
        }
        let len = lengths[n];
        if s >= len {
            if !PROJ {
                let own = row[r] + j;
                h_next[own] = h_prev[own];
                output[(s * n_rows + n) * params.out_width + d * k_len + j] = 0.0;
            }
            continue;
        }
        var t = s;
        if d == 1u {
            t = len - 1u - s;
        }
        let g = (gx_base + n) * gx_stride + j;
        let pre = acc[r] + vec4<f32>(gx[g], gx[g + hidden], gx[g + 2u * hidden], gx[g + 3u * hidden]);
        let i_gate = sigmoid(pre.x);
        let f_gate = sigmoid(pre.y);
        let g_gate = tanh_stable(pre.z);
        let o_gate = sigmoid(pre.w);
        let cell = params.cell_base + (d * n_rows + n) * hidden + j;
        let c_new = f_gate * c[cell] + i_gate * g_gate;
        c[cell] = c_new;
        let h = o_gate * tanh_stable(c_new);
        if PROJ {
            h_next[(d * n_rows + n) * hidden + j] = h;
        } else {
            h_next[row[r] + j] = h;
            output[(t * n_rows + n) * params.out_width + d * k_len + j] = h;
        }
    }
}
