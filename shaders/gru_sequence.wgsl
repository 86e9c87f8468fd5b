// gru_sequence: every step of a chunk of one GRU layer in ONE dispatch (a persistent kernel), for
// models whose hidden state fits in workgroup memory. CPU twin: the step loop of
// `reference::forward_prepared` calling `reference::gru_step`.
//
// The workgroup's slice of rows, h in workgroup memory and the step loop: see
// sequence_common.wgsl. Invocation i computes hidden units j = i, i + WG, ...: each W_hh load
// (vec4: the r, z, n gates of unit j, lane-contiguous in j) serves the block's rows. Then as
// `gru_step`: h' from the gates (`gru_cell`).
//
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half).
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, H, H) of vec4 (r, z, n, 0 of unit j for input k),
// K-major; b_hn (D, H); h states (L, D, N, H) with this layer at state_base; output (T, N, D·H).
//
// Composed after weights_f32.wgsl, prelude.wgsl, params.wgsl, sequence_common.wgsl and cells.wgsl.

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<W4>;
@group(0) @binding(3) var<storage, read> b_hn: array<W>;
@group(0) @binding(4) var<storage, read> lengths: array<u32>;
@group(0) @binding(5) var<storage, read_write> h: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let hidden = params.hidden;
    let h4 = (hidden + 3u) / 4u;
    let block = begin_rows(lid.x, wid, groups, hidden);
    let n0 = block.n0;
    let rows = block.rows;
    let state = block.state;
    let d = wid.z;
    let half = HBUF / 2u;

    let w_base = d * hidden * hidden;
    if CACHE_W {
        cache_w(w_base + min(lid.x, hidden - 1u), hidden, hidden);
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
                var acc = recurrent_sums(w_base + j, hidden, hidden, src + rb * h4);
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
                        keep_h(src, dst, own, j % 4u, s, n, d * hidden + j);
                        continue;
                    }
                    let b = f32(b_hn[d * hidden + j]);
                    let h_new = gru_cell(acc[r], gx_at(d, s, n) + j, hidden, b, hbuf[src + own][j % 4u]);
                    emit_h(dst, own, j % 4u, step_time(s, len, d), n, d * hidden + j, h_new);
                }
            }
        }
        workgroupBarrier();
        cur = 1u - cur;
    }
    store_h(lid.x, state, rows, hidden, cur * half);
}
