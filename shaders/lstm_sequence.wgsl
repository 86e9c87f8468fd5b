// lstm_sequence: every step of a chunk of one LSTM layer in ONE dispatch (a persistent kernel),
// for models whose hidden state fits in workgroup memory. CPU twin: the step loop of
// `cpu::forward_prepared` calling `cpu::lstm_step`.
//
// Workgroup (b, 0, d) owns a slice of batch rows [b·slice, b·slice + slice) of direction d, where
// slice = ceil(N / num_workgroups.x). It keeps h of its rows in workgroup memory (double-buffered,
// as vec4 along k, zero-padded) and loops over the steps with a workgroupBarrier() between them:
// no per-step dispatch. Within a step, invocation i computes hidden units j = i, i + WG, ... for
// blocks of RB rows: each W_hh load (vec4: the i, f, g, o gates of unit j, lane-contiguous in j)
// is reused across the block's rows, and each h load brings 4 inputs k at once (the same for
// every invocation: a broadcast read). Where invocations are emulated by SIMD lanes and every
// load costs per lane (Mesa 25.0 lavapipe), loads per multiply-add are what count; on GPUs the
// same shape reads W_hh coalesced and h from workgroup memory without bank conflicts. c stays in
// global memory, read and written by the one invocation that owns (row, unit).
//
// With a projection (PROJ, proj_size = P > 0), h has P features: the gate phase writes
// u = o·tanh(c') of the slice's rows to workgroup memory (`ubuf`, never to global memory), and
// after a barrier a projection phase computes h' = W_hr u, invocation i owning projected
// features p = i, i + WG, ..., and writes h' and the output. CPU twin: `cpu::lstm_step` then
// `cpu::lstm_projection`.
//
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half). h is loaded from
// the state buffer at the start of the dispatch and stored back at the end, so a sequence split
// into chunks (projection chunks) continues where the previous dispatch stopped.
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, K, H) of vec4 (i, f, g, o of unit j for input k),
// K-major, K = H_out (P with a projection, else H); w_hr (D, H, P), K-major (bound to a
// placeholder without a projection); h states (L, D, N, H_out) with this layer at state_base;
// c (L, D, N, H) at cell_base; output (T, N, D·H_out).

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
// vec4 entries of workgroup memory for h: 2 · SLICE_MAX · ceil(H_out / 4), SLICE_MAX the most
// rows a workgroup holds.
override HBUF: u32 = 256u;
// With a projection: u of the slice's rows, SLICE_MAX · ceil(H / 4) vec4 (1, unused, without).
override PROJ: bool = false;
override UBUF: u32 = 1u;
// Batch rows per register block (at most ROWS), chosen per call shape.
override RB: u32 = 4u;
// Largest register block. Keep in sync with `SEQUENCE_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 8u;
// Keep each invocation's W_hh column (its unit's 4 gates for every input k) in private memory for
// the whole dispatch instead of reloading it every step: for H <= WG (one unit per invocation) and
// H_out <= KMAX. Chosen for CPU adapters, where private memory is the host's stack and cache.
override CACHE_W: bool = false;
const KMAX: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;
@group(0) @binding(7) var<storage, read> w_hr: array<f32>;

var<workgroup> hbuf: array<vec4<f32>, HBUF>;
var<workgroup> ubuf: array<vec4<f32>, UBUF>;

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
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let hidden = params.hidden;
    let k_len = params.h_out;
    // vec4 per row: of h (and of W_hh's k) in hbuf, of u in ubuf.
    let h4 = (k_len + 3u) / 4u;
    let u4 = (hidden + 3u) / 4u;
    let n_rows = params.batch;
    let slice = (n_rows + groups.x - 1u) / groups.x;
    let n0 = min(wid.x * slice, n_rows);
    let rows = min(slice, n_rows - n0);
    let d = wid.z;
    let half = HBUF / 2u;
    let state = params.state_base + (d * n_rows + n0) * k_len;
    // Padding (k >= H_out, j >= H) and rows past the slice stay 0: register blocks read them.
    for (var i = lid.x; i < HBUF; i += WG) {
        hbuf[i] = vec4<f32>(0.0);
    }
    if PROJ {
        for (var i = lid.x; i < UBUF; i += WG) {
            ubuf[i] = vec4<f32>(0.0);
        }
    }
    workgroupBarrier();
    for (var i = lid.x; i < rows * k_len; i += WG) {
        let k = i % k_len;
        hbuf[(i / k_len) * h4 + k / 4u][k % 4u] = h[state + i];
    }
    workgroupBarrier();

    let gx_stride = params.gx_cols4 * 4u;
    let w_base = d * k_len * hidden;
    let r_base = d * hidden * k_len;
    var wreg: array<vec4<f32>, KMAX>;
    // With a projection, W_hr's column of the invocation's projected feature (P <= H <= WG: one
    // each), 4 inputs k per vec4.
    var wr: array<vec4<f32>, KMAX / 4u>;
    if CACHE_W {
        let j = min(lid.x, hidden - 1u);
        for (var k = 0u; k < KMAX; k++) {
            wreg[k] = select(vec4<f32>(0.0), w_hh[w_base + min(k, k_len - 1u) * hidden + j], k < k_len);
        }
        if PROJ {
            let at = r_base + min(lid.x, k_len - 1u);
            for (var k = 0u; k < KMAX; k++) {
                wr[k / 4u][k % 4u] = select(0.0, w_hr[at + min(k, hidden - 1u) * k_len], k < hidden);
            }
        }
    }
    var cur = 0u;
    let end = params.chunk_start + params.chunk_steps;
    for (var s = params.chunk_start; s < end; s++) {
        let src = cur * half;
        let dst = half - src;
        let gx_base = d * params.chunk_cap * n_rows + (s - params.chunk_start) * n_rows;
        for (var rb = 0u; rb < rows; rb += RB) {
            // A uniform loop (every invocation runs every iteration, the last ones on a clamped
            // unit whose results they drop): measured on lavapipe, the same work in a loop whose
            // trip count differs between invocations (j = lid; j < H; j += WG) ran 2.6x slower,
            // every load in it going through the execution mask.
            for (var j0 = 0u; j0 < hidden; j0 += WG) {
                let j = min(j0 + lid.x, hidden - 1u);
                let mine = j0 + lid.x < hidden;
                var acc: array<vec4<f32>, ROWS>;
                let hb = src + rb * h4;
                for (var k4 = 0u; k4 < h4; k4++) {
                    // Rows k >= H_out of W_hh do not exist: a clamped read, zeroed.
                    let k = 4u * k4;
                    var w0: vec4<f32>;
                    var w1: vec4<f32>;
                    var w2: vec4<f32>;
                    var w3: vec4<f32>;
                    if CACHE_W {
                        w0 = wreg[k];
                        w1 = wreg[k + 1u];
                        w2 = wreg[k + 2u];
                        w3 = wreg[k + 3u];
                    } else {
                        let w_at = w_base + j;
                        w0 = w_hh[w_at + k * hidden];
                        w1 = select(vec4<f32>(0.0), w_hh[w_at + min(k + 1u, k_len - 1u) * hidden], k + 1u < k_len);
                        w2 = select(vec4<f32>(0.0), w_hh[w_at + min(k + 2u, k_len - 1u) * hidden], k + 2u < k_len);
                        w3 = select(vec4<f32>(0.0), w_hh[w_at + min(k + 3u, k_len - 1u) * hidden], k + 3u < k_len);
                    }
                    for (var r = 0u; r < RB; r++) {
                        let x = hbuf[hb + r * h4 + k4];
                        acc[r] += w0 * x.x + w1 * x.y + w2 * x.z + w3 * x.w;
                    }
                }
                for (var r = 0u; r < RB; r++) {
                    let m = rb + r;
                    if m >= rows {
                        break;
                    }
                    let n = n0 + m;
                    let len = lengths[n];
                    let own = m * h4 + j / 4u;
                    if !mine {
                        continue;
                    }
                    if s >= len {
                        // With a projection the projection phase keeps the row's h.
                        if !PROJ {
                            hbuf[dst + own][j % 4u] = hbuf[src + own][j % 4u];
                            output[(s * n_rows + n) * params.out_width + d * hidden + j] = 0.0;
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
                    let h_new = o_gate * tanh_stable(c_new);
                    if PROJ {
                        ubuf[m * u4 + j / 4u][j % 4u] = h_new;
                    } else {
                        hbuf[dst + own][j % 4u] = h_new;
                        output[(t * n_rows + n) * params.out_width + d * hidden + j] = h_new;
                    }
                }
            }
        }
        if PROJ {
            workgroupBarrier();
            // h' = W_hr u: invocation i owns projected features p = i, i + WG, ... (a uniform
            // loop, as above), each W_hr load reused across the block's rows.
            for (var rb = 0u; rb < rows; rb += RB) {
                for (var p0 = 0u; p0 < k_len; p0 += WG) {
                    let p = min(p0 + lid.x, k_len - 1u);
                    let mine = p0 + lid.x < k_len;
                    var acc: array<f32, ROWS>;
                    let at = r_base + p;
                    for (var k4 = 0u; k4 < u4; k4++) {
                        // Rows k >= H of W_hr do not exist: a clamped read, zeroed.
                        let k = 4u * k4;
                        var w: vec4<f32>;
                        if CACHE_W {
                            w = wr[k4];
                        } else {
                            w = vec4<f32>(
                                w_hr[at + k * k_len],
                                select(0.0, w_hr[at + min(k + 1u, hidden - 1u) * k_len], k + 1u < hidden),
                                select(0.0, w_hr[at + min(k + 2u, hidden - 1u) * k_len], k + 2u < hidden),
                                select(0.0, w_hr[at + min(k + 3u, hidden - 1u) * k_len], k + 3u < hidden),
                            );
                        }
                        for (var r = 0u; r < RB; r++) {
                            acc[r] += dot(w, ubuf[(rb + r) * u4 + k4]);
                        }
                    }
                    for (var r = 0u; r < RB; r++) {
                        let m = rb + r;
                        if m >= rows {
                            break;
                        }
                        let n = n0 + m;
                        let len = lengths[n];
                        let own = m * h4 + p / 4u;
                        if !mine {
                            continue;
                        }
                        if s >= len {
                            hbuf[dst + own][p % 4u] = hbuf[src + own][p % 4u];
                            output[(s * n_rows + n) * params.out_width + d * k_len + p] = 0.0;
                            continue;
                        }
                        var t = s;
                        if d == 1u {
                            t = len - 1u - s;
                        }
                        hbuf[dst + own][p % 4u] = acc[r];
                        output[(t * n_rows + n) * params.out_width + d * k_len + p] = acc[r];
                    }
                }
            }
        }
        workgroupBarrier();
        cur = 1u - cur;
    }

    let last = cur * half;
    for (var i = lid.x; i < rows * k_len; i += WG) {
        let k = i % k_len;
        h[state + i] = hbuf[last + (i / k_len) * h4 + k / 4u][k % 4u];
    }
}
