// lstm_sequence: every step of a chunk of one LSTM layer in ONE dispatch (a persistent kernel),
// for models whose hidden state fits in workgroup memory. CPU twin: the step loop of
// `reference::forward_prepared` calling `reference::lstm_step`.
//
// The workgroup's slice of rows, h in workgroup memory and the step loop: see
// sequence_common.wgsl. Invocation i computes hidden units j = i, i + WG, ...: each W_hh load
// (vec4: the i, f, g, o gates of unit j, lane-contiguous in j) serves the block's rows. c stays in
// global memory, read and written by the one invocation that owns (row, unit).
//
// With a projection (PROJ, proj_size = P > 0), h has P features: the gate phase writes
// u = o·tanh(c') of the slice's rows to workgroup memory (`ubuf`, never to global memory), and
// after a barrier a projection phase computes h' = W_hr u, invocation i owning projected
// features p = i, i + WG, ..., and writes h' and the output. CPU twin: `reference::lstm_step` then
// `reference::lstm_projection`.
//
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half).
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, K, H) of vec4 (i, f, g, o of unit j for input k),
// K-major, K = H_out (P with a projection, else H); w_hr (D, H, P), K-major (bound to a
// placeholder without a projection); h states (L, D, N, H_out) with this layer at state_base;
// c (L, D, N, H) at cell_base; output (T, N, D·H_out).
//
// Composed after weights_f32.wgsl, prelude.wgsl, params.wgsl, sequence_common.wgsl and cells.wgsl.

// With a projection: u of the slice's rows, SLICE_MAX · ceil(H / 4) vec4 (1, unused, without).
override PROJ: bool = false;
override UBUF: u32 = 1u;

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<W4>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;
@group(0) @binding(7) var<storage, read> w_hr: array<W>;

var<workgroup> ubuf: array<vec4<f32>, UBUF>;

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
    // u's padding j >= H and rows past the slice stay 0: register blocks read them (the barrier
    // in `begin_rows` orders these stores before the first step).
    if PROJ {
        for (var i = lid.x; i < UBUF; i += WG) {
            ubuf[i] = vec4<f32>(0.0);
        }
    }
    let block = begin_rows(lid.x, wid, groups, k_len);
    let n0 = block.n0;
    let rows = block.rows;
    let state = block.state;
    let d = wid.z;
    let half = HBUF / 2u;

    let w_base = d * k_len * hidden;
    let r_base = d * hidden * k_len;
    // With a projection, W_hr's column of the invocation's projected feature (P <= H <= WG: one
    // each), 4 inputs k per vec4.
    var wr: array<vec4<f32>, KMAX / 4u>;
    if CACHE_W {
        cache_w(w_base + min(lid.x, hidden - 1u), hidden, k_len);
        if PROJ {
            let at = r_base + min(lid.x, k_len - 1u);
            for (var k = 0u; k < KMAX; k++) {
                wr[k / 4u][k % 4u] = select(0.0, f32(w_hr[at + min(k, hidden - 1u) * k_len]), k < hidden);
            }
        }
    }
    var cur = 0u;
    let end = params.chunk_start + params.chunk_steps;
    for (var s = params.chunk_start; s < end; s++) {
        let src = cur * half;
        let dst = half - src;
        for (var rb = 0u; rb < rows; rb += RB) {
            // A uniform loop over the units (see sequence_common.wgsl).
            for (var j0 = 0u; j0 < hidden; j0 += WG) {
                let j = min(j0 + lid.x, hidden - 1u);
                let mine = j0 + lid.x < hidden;
                var acc = recurrent_sums(w_base + j, hidden, k_len, src + rb * h4);
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
                            keep_h(src, dst, own, j % 4u, s, n, d * hidden + j);
                        }
                        continue;
                    }
                    let cell = params.cell_base + (d * params.batch + n) * hidden + j;
                    let updated = lstm_cell(lstm_gates(acc[r], gx_at(d, s, n) + j, hidden), c[cell]);
                    c[cell] = updated.c;
                    if PROJ {
                        ubuf[m * u4 + j / 4u][j % 4u] = updated.h;
                    } else {
                        emit_h(dst, own, j % 4u, step_time(s, len, d), n, d * hidden + j, updated.h);
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
                                f32(w_hr[at + k * k_len]),
                                select(0.0, f32(w_hr[at + min(k + 1u, hidden - 1u) * k_len]), k + 1u < hidden),
                                select(0.0, f32(w_hr[at + min(k + 2u, hidden - 1u) * k_len]), k + 2u < hidden),
                                select(0.0, f32(w_hr[at + min(k + 3u, hidden - 1u) * k_len]), k + 3u < hidden),
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
                            keep_h(src, dst, own, p % 4u, s, n, d * k_len + p);
                            continue;
                        }
                        emit_h(dst, own, p % 4u, step_time(s, len, d), n, d * k_len + p, acc[r]);
                    }
                }
            }
        }
        workgroupBarrier();
        cur = 1u - cur;
    }
    store_h(lid.x, state, rows, k_len, cur * half);
}
