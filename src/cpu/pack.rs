//! The fast CPU path's weights, re-packed once per model into the layouts its GEMMs read
//! (transposed, both directions of a layer side by side) with the biases pre-summed.

use crate::config::{Family, RnnConfig};
use crate::model::Model;

/// One layer's weights. `D` directions, `G` gates, `H` hidden, `H_out` output width, `I_l` input width.
#[derive(Clone, Debug)]
pub struct PackedLayer {
    /// `I_l`.
    pub input_width: usize,
    /// Every direction's `W_ihᵀ` side by side: (I_l, D·G·H) row-major, so one GEMM projects the
    /// layer's whole input for both directions.
    pub w_ih: Vec<f32>,
    /// Per direction.
    pub dirs: Vec<PackedDirection>,
}

/// One (layer, direction)'s recurrent weights.
#[derive(Clone, Debug)]
pub struct PackedDirection {
    /// `W_hhᵀ`: (H_out, G·H) row-major.
    pub w_hh: Vec<f32>,
    /// The bias added to each gate's pre-activation outside any product: `b_ih + b_hh` per gate,
    /// except GRU's n gate, which gets `b_in` only (`b_hn` sits inside `r·(W_hn h + b_hn)`): (G·H).
    /// Zeros with `bias=False`.
    pub bias: Vec<f32>,
    /// GRU's `b_hn`: (H); empty for other families.
    pub b_hn: Vec<f32>,
    /// LSTM projection `W_hrᵀ`: (H, P) row-major; empty without a projection.
    pub w_hr: Vec<f32>,
}

/// `w` (rows, cols) row-major, transposed into `out` at column offset `col0` of an
/// (cols, out_width) row-major matrix.
fn transpose_into(
    w: &[f32],
    rows: usize,
    cols: usize,
    out: &mut [f32],
    out_width: usize,
    col0: usize,
) {
    for r in 0..rows {
        for c in 0..cols {
            out[c * out_width + col0 + r] = w[r * cols + c];
        }
    }
}

fn transposed(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    transpose_into(w, rows, cols, &mut out, rows, 0);
    out
}

/// Packs every layer of `model`.
pub fn pack(model: &Model) -> Vec<PackedLayer> {
    let config: &RnnConfig = model.config();
    let dirs = config.num_directions();
    let (h, h_out) = (config.hidden_size, config.output_hidden());
    let gh = config.gate_count() * h;
    let gru = config.family() == Family::Gru;
    (0..config.num_layers)
        .map(|layer| {
            let input_width = config.layer_input_size(layer);
            let mut w_ih = vec![0.0; input_width * dirs * gh];
            let dirs = (0..dirs)
                .map(|dir| {
                    let p = model.group(layer, dir);
                    transpose_into(
                        p.weight_ih.data(),
                        gh,
                        input_width,
                        &mut w_ih,
                        dirs * gh,
                        dir * gh,
                    );
                    let b_ih = p.bias_ih.as_ref().map(|b| b.data());
                    let b_hh = p.bias_hh.as_ref().map(|b| b.data());
                    let bias = (0..gh)
                        .map(|j| {
                            let x = b_ih.map_or(0.0, |b| b[j]);
                            let r = b_hh.map_or(0.0, |b| b[j]);
                            if gru && j >= 2 * h { x } else { x + r }
                        })
                        .collect();
                    let b_hn = if gru {
                        b_hh.map_or(vec![0.0; h], |b| b[2 * h..].to_vec())
                    } else {
                        Vec::new()
                    };
                    PackedDirection {
                        w_hh: transposed(p.weight_hh.data(), gh, h_out),
                        bias,
                        b_hn,
                        w_hr: p
                            .weight_hr
                            .as_ref()
                            .map_or(Vec::new(), |w| transposed(w.data(), h_out, h)),
                    }
                })
                .collect();
            PackedLayer {
                input_width,
                w_ih,
                dirs,
            }
        })
        .collect()
}
