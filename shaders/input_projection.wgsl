// input_projection: gx = X·W_ihᵀ + bias for every (step, batch row) of a chunk of steps of one
// layer, both directions in one dispatch (workgroup z = direction). CPU twin:
// `reference::input_projection`.
//
// Rows are indexed by step s, not time: the reverse direction gathers x at t = len_n - 1 - s for
// its row n (s < len_n), so each step kernel reads row s of its own direction. Columns are the
// G·H gate pre-activations padded to a multiple of 4 and handled as vec4: an invocation computes
// a register block of ROWS consecutive rows × COLS vec4 columns (c, c + WG_X, c + 2·WG_X, ..., so
// adjacent invocations read adjacent vec4 of W_ihᵀ: coalesced), each x value loaded once for
// COLS·4 multiply-adds. Loads per multiply-add are what bounds drivers that emulate invocations
// with SIMD lanes and pay per lane for every load (Mesa 25.0 lavapipe).
//
// Layouts: x (T, N, K); w_ih (D, K, C4) vec4, K-major (the transpose of weight_ih, padded);
// bias (D, C4) vec4 (b_ih + b_hh, but b_ih alone for the GRU n gate); gx (D, chunk_cap, N, C4).
//
// Composed after weights_f32.wgsl, prelude.wgsl (`step_time`) and params.wgsl (`params`).

override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;
// Rows per invocation. Keep in sync with `PROJECTION_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 8u;
// vec4 columns per invocation. Keep in sync with `PROJECTION_COLS` in src/gpu/kernels.rs.
const COLS: u32 = 4u;
// Terms per partial sum along K.
const K_BLOCK: u32 = 16u;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w_ih: array<W4>;
@group(0) @binding(3) var<storage, read> bias: array<W4>;
@group(0) @binding(4) var<storage, read> lengths: array<u32>;
@group(0) @binding(5) var<storage, read_write> gx: array<vec4<f32>>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let cols = params.gx_cols4;
    let c0 = wid.x * (WG_X * COLS) + lid.x;
    let n_rows = params.batch;
    let rows = params.chunk_steps * n_rows;
    let m0 = (wid.y * WG_Y + lid.y) * ROWS;
    if c0 >= cols || m0 >= rows {
        return;
    }
    let d = wid.z;
    let k_len = params.in_width;
    // Column block: c0, c0 + WG_X, ... (clamped; clamped ones are not stored).
    var col: array<u32, COLS>;
    for (var q = 0u; q < COLS; q++) {
        col[q] = min(c0 + q * WG_X, cols - 1u);
    }

    var src: array<u32, ROWS>;
    var acc: array<array<vec4<f32>, COLS>, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        let m = min(m0 + r, rows - 1u);
        let s = params.chunk_start + m / n_rows;
        let n = m % n_rows;
        src[r] = (step_time(s, lengths[n], d) * n_rows + n) * k_len;
        for (var q = 0u; q < COLS; q++) {
            acc[r][q] = vec4<f32>(bias[d * cols + col[q]]);
        }
    }
    // Sums in blocks of K_BLOCK terms added to the total: the rounding error of a long f32 sum
    // grows with its running magnitude, and inputs are not small (PyTorch's weights for small H
    // reach ±1), so this keeps wide layers within 1e-5 of the f64 reference.
    let w_base = d * k_len * cols;
    for (var k0 = 0u; k0 < k_len; k0 += K_BLOCK) {
        var part: array<array<vec4<f32>, COLS>, ROWS>;
        let k_end = min(k0 + K_BLOCK, k_len);
        for (var k = k0; k < k_end; k++) {
            var w: array<vec4<f32>, COLS>;
            for (var q = 0u; q < COLS; q++) {
                w[q] = vec4<f32>(w_ih[w_base + k * cols + col[q]]);
            }
            for (var r = 0u; r < ROWS; r++) {
                let xs = x[src[r] + k];
                for (var q = 0u; q < COLS; q++) {
                    part[r][q] += w[q] * xs;
                }
            }
        }
        for (var r = 0u; r < ROWS; r++) {
            for (var q = 0u; q < COLS; q++) {
                acc[r][q] += part[r][q];
            }
        }
    }
    let out_base = d * params.chunk_cap * n_rows;
    for (var r = 0u; r < ROWS; r++) {
        let m = m0 + r;
        if m >= rows {
            break;
        }
        for (var q = 0u; q < COLS; q++) {
            if c0 + q * WG_X < cols {
                gx[(out_base + m) * cols + col[q]] = acc[r][q];
            }
        }
    }
}
