// rnn_step: one time step of an Elman RNN layer for every batch row and both directions:
// h' = act(gx + W_hh h), the biases being already in gx. CPU twin: `reference::rnn_step`.
//
// Invocation (j, row block, d) owns hidden unit j of ROWS batch rows of direction d. At step s the
// forward direction handles t = s, the reverse t = len_n - 1 - s; a row with s >= len_n keeps its
// state and writes 0 to output[s] (its direction's half), so every output slot is written once.
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, K, 4·⌈H/4⌉), K-major (K = H), rows zero-padded to
// a multiple of 4 units; states (L, D, N, H) with this layer at state_base; output (T, N, D·H).
//
// Composed after weights_f32.wgsl, prelude.wgsl, params.wgsl and step_common.wgsl (`WG`, `ROWS`,
// the row block, `keep_row`, `emit_row`).

override RELU: bool = false;

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<W>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read> h_prev: array<f32>;
@group(0) @binding(5) var<storage, read_write> h_next: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;

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
    let row = block_rows(params.state_base + d * n_rows * k_len, n0, k_len);

    var acc: array<f32, ROWS>;
    // Rows of W_hhᵀ are padded to a multiple of 4 units (read as vec4 by `rnn_sequence`).
    let stride = (hidden + 3u) / 4u * 4u;
    let w_base = d * k_len * stride + j;
    if n_rows - n0 == 1u {
        // A block of one row (batch 1): one h_prev load per w_hh load, not ROWS of the same row.
        for (var k = 0u; k < k_len; k++) {
            acc[0] += f32(w_hh[w_base + k * stride]) * h_prev[row[0] + k];
        }
    } else {
        for (var k = 0u; k < k_len; k++) {
            let w = f32(w_hh[w_base + k * stride]);
            for (var r = 0u; r < ROWS; r++) {
                acc[r] += w * h_prev[row[r] + k];
            }
        }
    }

    let s = params.step;
    let col = d * k_len + j;
    for (var r = 0u; r < ROWS; r++) {
        let n = n0 + r;
        if n >= n_rows {
            break;
        }
        let own = row[r] + j;
        let len = lengths[n];
        if s >= len {
            keep_row(own, n, col);
            continue;
        }
        let pre = gx[gx_at(d, s, n) + j] + acc[r];
        var h: f32;
        if RELU {
            h = relu(pre);
        } else {
            h = tanh_stable(pre);
        }
        emit_row(own, step_time(s, len, d), n, col, h);
    }
}
