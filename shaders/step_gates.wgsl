// step_gates: W_hh h_prev for the gates of one unit (a vec4: i, f, g, o or r, z, n, 0) in each row
// of a step kernel's block, shared by lstm_step and gru_step (`w_hh` is a (D, K, H) array of W4).

// The gate sums of the unit whose W_hh column starts at `w_base` (rows k of `stride` vec4,
// k < k_len) for the rows starting at `row` in h_prev. A block of one row (batch 1) loads h_prev
// once per w_hh load, not ROWS copies of that row.
fn gate_sums(w_base: u32, stride: u32, k_len: u32, row: array<u32, ROWS>, one_row: bool) -> array<vec4<f32>, ROWS> {
    var acc: array<vec4<f32>, ROWS>;
    if one_row {
        for (var k = 0u; k < k_len; k++) {
            acc[0] += vec4<f32>(w_hh[w_base + k * stride]) * h_prev[row[0] + k];
        }
    } else {
        for (var k = 0u; k < k_len; k++) {
            let w = vec4<f32>(w_hh[w_base + k * stride]);
            for (var r = 0u; r < ROWS; r++) {
                acc[r] += w * h_prev[row[r] + k];
            }
        }
    }
    return acc;
}
