// gru_step: one time step of a GRU layer for every batch row and both directions. CPU twin:
// `reference::gru_step`.
//
// Invocation (j, row block, d) owns hidden unit j of ROWS batch rows of direction d: from
// W_hh h (gates r, z, n) and gx it computes h' in registers (`gru_cell`).
// At step s the forward direction handles t = s, the reverse t = len_n - 1 - s; a row with
// s >= len_n keeps its state and writes 0 to output[s] (its direction's half).
//
// Layouts: gx (D, chunk_cap, N, 4·C4); w_hh (D, K, H) of vec4 (r, z, n, 0 of unit j for input k),
// K = H; b_hn (D, H); states (L, D, N, H) with this layer at state_base; output (T, N, D·H).
//
// Composed after weights_f32.wgsl, prelude.wgsl, params.wgsl, step_common.wgsl, step_gates.wgsl
// (`gate_sums`) and cells.wgsl (`gru_cell`).

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<W4>;
@group(0) @binding(3) var<storage, read> b_hn: array<W>;
@group(0) @binding(4) var<storage, read> lengths: array<u32>;
@group(0) @binding(5) var<storage, read> h_prev: array<f32>;
@group(0) @binding(6) var<storage, read_write> h_next: array<f32>;
@group(0) @binding(7) var<storage, read_write> output: array<f32>;

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
    var acc = gate_sums(d * k_len * hidden + j, hidden, k_len, row, n_rows - n0 == 1u);

    let s = params.step;
    let col = d * k_len + j;
    let bias_n = f32(b_hn[d * hidden + j]);
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
        let h = gru_cell(acc[r], gx_at(d, s, n) + j, hidden, bias_n, h_prev[own]);
        emit_row(own, step_time(s, len, d), n, col, h);
    }
}
