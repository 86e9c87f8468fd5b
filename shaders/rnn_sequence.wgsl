// rnn_sequence: every step of a chunk of one Elman RNN layer in ONE dispatch (a persistent
// kernel), for models whose hidden state fits in workgroup memory: h' = act(gx + W_hh h), the
// biases being already in gx. CPU twin: the step loop of `reference::forward_prepared` calling
// `reference::rnn_step`.
//
// The workgroup's slice of rows, h in workgroup memory and the step loop: see
// sequence_common.wgsl. Invocation i owns 4 consecutive units j = 4·(i + WG·p) .. +3: each W_hh
// load (vec4: 4 units) serves the block's rows.
//
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half).
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, H, ⌈H/4⌉) of vec4 (units 4u..4u+3 for input k),
// K-major, zero-padded; h states (L, D, N, H) with this layer at state_base; output (T, N, D·H).
//
// Composed after weights_f32.wgsl, prelude.wgsl, params.wgsl and sequence_common.wgsl.

override RELU: bool = false;

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<W4>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;

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

    // W_hh's rows hold ⌈H/4⌉ vec4: invocation i's column is its group of 4 units.
    let w_base = d * hidden * h4;
    if CACHE_W {
        cache_w(w_base + min(lid.x, h4 - 1u), h4, hidden);
    }
    var cur = 0u;
    let end = params.chunk_start + params.chunk_steps;
    for (var s = params.chunk_start; s < end; s++) {
        let src = cur * half;
        let dst = half - src;
        for (var rb = 0u; rb < rows; rb += RB) {
            // A uniform loop over the units (see sequence_common.wgsl).
            for (var u0 = 0u; u0 < h4; u0 += WG) {
                let u = min(u0 + lid.x, h4 - 1u);
                let mine = u0 + lid.x < h4;
                var acc = recurrent_sums(w_base + u, h4, hidden, src + rb * h4);
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
                    let t = step_time(s, len, d);
                    let g = gx_at(d, s, n);
                    for (var e = 0u; e < 4u; e++) {
                        let j = 4u * u + e;
                        if j >= hidden {
                            break;
                        }
                        if s >= len {
                            output[output_at(s, n, d * hidden + j)] = 0.0;
                            continue;
                        }
                        let pre = gx[g + j] + acc[r][e];
                        if RELU {
                            h_new[e] = relu(pre);
                        } else {
                            h_new[e] = tanh_stable(pre);
                        }
                        output[output_at(t, n, d * hidden + j)] = h_new[e];
                    }
                    hbuf[dst + own] = h_new;
                }
            }
        }
        workgroupBarrier();
        cur = 1u - cur;
    }
    store_h(lid.x, state, rows, hidden, cur * half);
}
