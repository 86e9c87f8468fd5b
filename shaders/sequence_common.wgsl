// sequence_common: what the whole-sequence kernels (rnn_sequence, lstm_sequence, gru_sequence)
// share. Each declares `h` (its layer's states, read at the start and written at the end), `w_hh`
// (an array of W4) and `output`.
//
// Workgroup (b, 0, d) owns a slice of batch rows [b·slice, b·slice + slice) of direction d, where
// slice = ceil(N / num_workgroups.x). It keeps h of its rows in workgroup memory (`hbuf`,
// double-buffered, as vec4 along k, zero-padded) and loops over the steps with a
// workgroupBarrier() between them: no per-step dispatch. Within a step, each invocation computes
// its units for blocks of RB rows: each W_hh load (vec4, lane-contiguous) is reused across the
// block's rows, and each h load brings 4 inputs k at once (the same for every invocation: a
// broadcast read). Where invocations are emulated by SIMD lanes and every load costs per lane
// (Mesa 25.0 lavapipe), loads per multiply-add are what count; on GPUs the same shape reads W_hh
// coalesced and h from workgroup memory without bank conflicts.
//
// The loops over an invocation's units are uniform: every invocation runs every iteration
// (u0 = 0, WG, 2·WG, ...), the last ones on a clamped unit whose results they drop (`mine`).
// Measured on lavapipe, the same work in a loop whose trip count differs between invocations
// (j = lid; j < H; j += WG) ran 2.6x slower, every load in it going through the execution mask.
//
// h is loaded from the state buffer at the start of the dispatch and stored back at the end, so a
// sequence split into chunks (projection chunks) continues where the previous dispatch stopped.

override WG: u32 = 64u;
// vec4 entries of workgroup memory for h: 2 · SLICE_MAX · ceil(H_out / 4), SLICE_MAX the most
// rows a workgroup holds.
override HBUF: u32 = 256u;
// Batch rows per register block (at most ROWS), chosen per call shape.
override RB: u32 = 4u;
// Largest register block. Keep in sync with `SEQUENCE_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 8u;
// Keep each invocation's W_hh column (its unit's gates, or the RNN's 4 units, for every input k)
// in private memory (`wreg`) for the whole dispatch instead of reloading it every step: when one
// pass of the workgroup covers every unit and the inputs are at most KMAX. Chosen for CPU
// adapters, where private memory is the host's stack and cache.
override CACHE_W: bool = false;
const KMAX: u32 = 64u;

var<workgroup> hbuf: array<vec4<f32>, HBUF>;
var<private> wreg: array<vec4<f32>, KMAX>;

// The batch rows [n0, n0 + rows) of direction wid.z one workgroup owns, and the element of h where
// their states (k_len each) start.
struct Rows {
    n0: u32,
    rows: u32,
    state: u32,
}

// The rows of workgroup `wid` among `groups` (ceil(N / groups.x) each, the last ones fewer), their
// states loaded into hbuf (`load_h`). Invocation `lid` of WG.
fn begin_rows(lid: u32, wid: vec3<u32>, groups: vec3<u32>, k_len: u32) -> Rows {
    let n_rows = params.batch;
    let slice = (n_rows + groups.x - 1u) / groups.x;
    let n0 = min(wid.x * slice, n_rows);
    let rows = min(slice, n_rows - n0);
    let state = params.state_base + (wid.z * n_rows + n0) * k_len;
    load_h(lid, state, rows, k_len);
    return Rows(n0, rows, state);
}

// Zeroes hbuf (the padding k >= k_len and rows past the slice stay 0 in both halves: register
// blocks read them), then loads `rows` rows of k_len states from element `state` of h into its
// first half. Invocation `lid` of WG takes every WG-th element.
fn load_h(lid: u32, state: u32, rows: u32, k_len: u32) {
    let h4 = (k_len + 3u) / 4u;
    for (var i = lid; i < HBUF; i += WG) {
        hbuf[i] = vec4<f32>(0.0);
    }
    workgroupBarrier();
    for (var i = lid; i < rows * k_len; i += WG) {
        let k = i % k_len;
        hbuf[(i / k_len) * h4 + k / 4u][k % 4u] = h[state + i];
    }
    workgroupBarrier();
}

// Stores the `rows` rows of k_len states held in hbuf from entry `last` back to element `state`
// of h.
fn store_h(lid: u32, state: u32, rows: u32, k_len: u32, last: u32) {
    let h4 = (k_len + 3u) / 4u;
    for (var i = lid; i < rows * k_len; i += WG) {
        let k = i % k_len;
        h[state + i] = hbuf[last + (i / k_len) * h4 + k / 4u][k % 4u];
    }
}

// Input k's vec4 of the W_hh column starting at element `at` (rows of `stride` vec4); rows
// k >= k_len do not exist: a clamped read, zeroed.
fn w_row(at: u32, stride: u32, k: u32, k_len: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(w_hh[at + min(k, k_len - 1u) * stride]), k < k_len);
}

// Loads the W_hh column starting at `at` into wreg (CACHE_W).
fn cache_w(at: u32, stride: u32, k_len: u32) {
    for (var k = 0u; k < KMAX; k++) {
        wreg[k] = w_row(at, stride, k, k_len);
    }
}

// W_hh·h for the RB rows of a register block whose h starts at entry `hb` of hbuf: the 4 sums of
// the W_hh column starting at `at` (rows of `stride` vec4, k < k_len), from wreg with CACHE_W.
fn recurrent_sums(at: u32, stride: u32, k_len: u32, hb: u32) -> array<vec4<f32>, ROWS> {
    let h4 = (k_len + 3u) / 4u;
    var acc: array<vec4<f32>, ROWS>;
    for (var k4 = 0u; k4 < h4; k4++) {
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
            // k < k_len always (k4 < h4); rows past it are clamped and zeroed.
            w0 = vec4<f32>(w_hh[at + k * stride]);
            w1 = w_row(at, stride, k + 1u, k_len);
            w2 = w_row(at, stride, k + 2u, k_len);
            w3 = w_row(at, stride, k + 3u, k_len);
        }
        for (var r = 0u; r < RB; r++) {
            let x = hbuf[hb + r * h4 + k4];
            acc[r] += w0 * x.x + w1 * x.y + w2 * x.z + w3 * x.w;
        }
    }
    return acc;
}

// Row n past its length at step s: keeps its state (lane `lane` of hbuf entry `own`, from half
// `src` to half `dst`) and writes 0 to column `col` of output[s].
fn keep_h(src: u32, dst: u32, own: u32, lane: u32, s: u32, n: u32, col: u32) {
    hbuf[dst + own][lane] = hbuf[src + own][lane];
    output[output_at(s, n, col)] = 0.0;
}

// Row n's new state `h` at time t: lane `lane` of hbuf entry `dst + own`, column `col` of
// output[t].
fn emit_h(dst: u32, own: u32, lane: u32, t: u32, n: u32, col: u32, h: f32) {
    hbuf[dst + own][lane] = h;
    output[output_at(t, n, col)] = h;
}
