// step_common: what the per-step kernels (rnn_step, lstm_step, gru_step, lstm_projection) share.
// Invocation (unit, row block, d) of one of them owns one unit of the ROWS batch rows n0.. of
// direction d at step `params.step`. Each kernel declares `h_prev`, `h_next` and `output`.

override WG: u32 = 64u;
// Batch rows per invocation. Keep in sync with `STEP_ROWS` in src/gpu/kernels.rs.
const ROWS: u32 = 4u;

// The first element of each row of the block n0.. in a (.., N, width) layout at element `base`;
// rows past N repeat the last row (their results are dropped).
fn block_rows(base: u32, n0: u32, width: u32) -> array<u32, ROWS> {
    var row: array<u32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        row[r] = base + min(n0 + r, params.batch - 1u) * width;
    }
    return row;
}

// Row n past its length: keeps its state (element `own` of h) and writes 0 to its direction's
// column `col` of output[s], so every output slot is written once.
fn keep_row(own: u32, n: u32, col: u32) {
    h_next[own] = h_prev[own];
    output[output_at(params.step, n, col)] = 0.0;
}

// Row n's new state `h` at time t: element `own` of h_next, column `col` of output[t].
fn emit_row(own: u32, t: u32, n: u32, col: u32, h: f32) {
    h_next[own] = h;
    output[output_at(t, n, col)] = h;
}
