// rnn_sequence: every step of a chunk of one Elman RNN layer in ONE dispatch (a persistent
// kernel), for models whose hidden state fits in workgroup memory: h' = act(gx + W_hh h), the
// biases being already in gx. CPU twin: the step loop of `cpu::forward_prepared` calling
// `cpu::rnn_step`.
//
// Workgroup (b, 0, d) owns a slice of batch rows [b·slice, b·slice + slice) of direction d, where
// slice = ceil(N / num_workgroups.x). It keeps h of its rows in workgroup memory (double-buffered,
// as vec4 along k, zero-padded) and loops over the steps with a workgroupBarrier() between them:
// no per-step dispatch. Within a step, invocation i computes hidden units j = i, i + WG, ... for
// blocks of RB rows. Invocation i owns 4 consecutive units j = 4·(i + WG·p) .. +3: each W_hh load
// (vec4: 4 units, lane-contiguous) is reused across the block's rows, and each h load brings 4 inputs k at once (the same for
// every invocation: a broadcast read). Where invocations are emulated by SIMD lanes and every
// load costs per lane (Mesa 25.0 lavapipe), loads per multiply-add are what count; on GPUs the
// same shape reads W_hh coalesced and h from workgroup memory without bank conflicts.
//
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half). h is loaded from
// the state buffer at the start of the dispatch and stored back at the end, so a sequence split
// into chunks (projection chunks) continues where the previous dispatch stopped.
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, H, ⌈H/4⌉) of vec4 (units 4u..4u+3 for input k),
// K-major, zero-padded; h states (L, D, N, H) with this layer at state_base; output (T, N, D·H).

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
// vec4 entries of workgroup memory: 2 · SLICE_MAX · ceil(H / 4), SLICE_MAX the most rows a
// workgroup holds.
override HBUF: u32 = 256u;
// Batch rows per register block (at most ROWS), chosen per call shape.
override RB: u32 = 4u;
// Largest register block. Keep in sync with `SEQUENCE_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 8u;
// Keep each invocation's W_hh column (its 4 units for every input k) in private memory for the
// whole dispatch instead of reloading it every step: for ⌈H/4⌉ <= WG (one group of units per
// invocation) and H <= KMAX. Chosen for CPU adapters, where private memory is the host's stack.
override CACHE_W: bool = false;
const KMAX: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;

var<workgroup> hbuf: array<vec4<f32>, HBUF>;

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
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let hidden = params.hidden;
    let h4 = (hidden + 3u) / 4u;
    let n_rows = params.batch;
    let slice = (n_rows + groups.x - 1u) / groups.x;
    let n0 = min(wid.x * slice, n_rows);
    let rows = min(slice, n_rows - n0);
    let d = wid.z;
    let half = HBUF / 2u;
    let state = params.state_base + (d * n_rows + n0) * hidden;
    // Padding (k >= H) and rows past the slice stay 0 in both halves: register blocks read them.
    for (var i = lid.x; i < HBUF; i += WG) {
        hbuf[i] = vec4<f32>(0.0);
    }
    workgroupBarrier();
    for (var i = lid.x; i < rows * hidden; i += WG) {
        let k = i % hidden;
        hbuf[(i / hidden) * h4 + k / 4u][k % 4u] = h[state + i];
    }
    workgroupBarrier();

    let gx_stride = params.gx_cols4 * 4u;
    let w_base = d * hidden * h4;
    var wreg: array<vec4<f32>, KMAX>;
    if CACHE_W {
        let u = min(lid.x, h4 - 1u);
        for (var k = 0u; k < KMAX; k++) {
            wreg[k] = select(vec4<f32>(0.0), w_hh[w_base + min(k, hidden - 1u) * h4 + u], k < hidden);
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
            for (var u0 = 0u; u0 < h4; u0 += WG) {
                let u = min(u0 + lid.x, h4 - 1u);
                let mine = u0 + lid.x < h4;
                var acc: array<vec4<f32>, ROWS>;
                let hb = src + rb * h4;
                let w_at = w_base + u;
                for (var k4 = 0u; k4 < h4; k4++) {
                    // Rows k >= H of W_hh do not exist: a clamped read, zeroed.
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
                        w0 = w_hh[w_at + k * h4];
                        w1 = select(vec4<f32>(0.0), w_hh[w_at + min(k + 1u, hidden - 1u) * h4], k + 1u < hidden);
                        w2 = select(vec4<f32>(0.0), w_hh[w_at + min(k + 2u, hidden - 1u) * h4], k + 2u < hidden);
                        w3 = select(vec4<f32>(0.0), w_hh[w_at + min(k + 3u, hidden - 1u) * h4], k + 3u < hidden);
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
                    let own = m * h4 + u;
                    if !mine {
                        continue;
                    }
                    var h_new = hbuf[src + own];
                    for (var e = 0u; e < 4u; e++) {
                        let j = 4u * u + e;
                        if j >= hidden {
                            break;
                        }
                        if s >= len {
                            output[(s * n_rows + n) * params.out_width + d * hidden + j] = 0.0;
                            continue;
                        }
                        var t = s;
                        if d == 1u {
                            t = len - 1u - s;
                        }
                        let pre = gx[(gx_base + n) * gx_stride + j] + acc[r][e];
                        if RELU {
                            h_new[e] = relu(pre);
                        } else {
                            h_new[e] = tanh_stable(pre);
                        }
                        output[(t * n_rows + n) * params.out_width + d * hidden + j] = h_new[e];
                    }
                    hbuf[dst + own] = h_new;
                }
            }
        }
        workgroupBarrier();
        cur = 1u - cur;
    }

    let last = cur * half;
    for (var i = lid.x; i < rows * hidden; i += WG) {
        let k = i % hidden;
        h[state + i] = hbuf[last + (i / hidden) * h4 + k / 4u][k % 4u];
    }
}
