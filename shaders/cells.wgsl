// cells: the LSTM and GRU cell updates from their gate pre-activations, shared by the step and
// sequence kernels of each family (CPU twins: the ends of `reference::lstm_step` and
// `reference::gru_step`).
// Each of those kernels declares `gx`, the input projection with the biases summed in.

// An LSTM unit's new cell state c and hidden state h (before any projection).
struct LstmCell {
    c: f32,
    h: f32,
}

// The i, f, g, o gate pre-activations of one unit: `w_h`, the unit's W_hh·h, plus its 4 columns
// of gx starting at element g (one every `hidden`).
fn lstm_gates(w_h: vec4<f32>, g: u32, hidden: u32) -> vec4<f32> {
    return w_h + vec4<f32>(gx[g], gx[g + hidden], gx[g + 2u * hidden], gx[g + 3u * hidden]);
}

// c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c') from the gate pre-activations `pre`.
fn lstm_cell(pre: vec4<f32>, c: f32) -> LstmCell {
    let i_gate = sigmoid(pre.x);
    let f_gate = sigmoid(pre.y);
    let g_gate = tanh_stable(pre.z);
    let o_gate = sigmoid(pre.w);
    let c_new = f_gate * c + i_gate * g_gate;
    return LstmCell(c_new, o_gate * tanh_stable(c_new));
}

// A GRU unit's new h from `w_h` (its W_hh·h: r, z, n, 0), its 3 columns of gx starting at
// element g (b_ir + b_hr, b_iz + b_hz, b_in summed in), b_hn and its previous h:
// r = σ(gx_r + W_hr h), z = σ(gx_z + W_hz h), n = tanh(gx_n + r·(W_hn h + b_hn)),
// h' = (1 − z)·n + z·h. b_hn stays inside the product with r, as PyTorch computes it.
fn gru_cell(w_h: vec4<f32>, g: u32, hidden: u32, b_hn: f32, h: f32) -> f32 {
    let r_gate = sigmoid(gx[g] + w_h.x);
    let z_gate = sigmoid(gx[g + hidden] + w_h.y);
    let n_gate = tanh_stable(gx[g + 2u * hidden] + r_gate * (w_h.z + b_hn));
    return (1.0 - z_gate) * n_gate + z_gate * h;
}
