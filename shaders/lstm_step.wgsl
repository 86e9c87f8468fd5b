// lstm_step: one time step of an LSTM layer for every batch row and both directions. CPU twin:
// `reference::lstm_step`.
//
// Invocation (j, row block, d) owns hidden unit j of ROWS batch rows of direction d: it computes
// the four gates i, f, g, o of unit j from W_hh h + gx (biases already in gx), applies the
// nonlinearities and c' = f·c + i·g, h' = o·tanh(c') in registers (`lstm_cell`); gates never go
// to memory.
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
//
// Composed after weights_f32.wgsl, prelude.wgsl, params.wgsl, step_common.wgsl, step_gates.wgsl
// (`gate_sums`) and cells.wgsl (`lstm_gates`, `lstm_cell`).

override PROJ: bool = false;

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> w_hh: array<W4>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read> h_prev: array<f32>;
@group(0) @binding(5) var<storage, read_write> h_next: array<f32>;
@group(0) @binding(6) var<storage, read_write> c: array<f32>;
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
    for (var r = 0u; r < ROWS; r++) {
        let n = n0 + r;
        if n >= n_rows {
            break;
        }
        let len = lengths[n];
        if s >= len {
            if !PROJ {
                keep_row(row[r] + j, n, col);
            }
            continue;
        }
        let cell = params.cell_base + (d * n_rows + n) * hidden + j;
        let updated = lstm_cell(lstm_gates(acc[r], gx_at(d, s, n) + j, hidden), c[cell]);
        c[cell] = updated.c;
        if PROJ {
            h_next[(d * n_rows + n) * hidden + j] = updated.h;
        } else {
            emit_row(row[r] + j, step_time(s, len, d), n, col, updated.h);
        }
    }
}
