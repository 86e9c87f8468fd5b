//! The `gemm`s of a training plan: what each multiplies, as [`Gemm`] uniforms over the layer's
//! time-major rows (all T·N steps and rows at once, both directions per dispatch unless noted).

use crate::config::RnnConfig;
use crate::gpu::train::layout::GroupOffsets;
use crate::gpu::train::uniforms::{GEMM_ACCUMULATE, GEMM_BIAS, Gemm};

/// The second operand of a weight-gradient `gemm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// The layer's input (x, or the previous layer's output).
    LayerInput,
    /// The layer's saved rows (h_prev, or u with a projection).
    Saved,
    /// Ones: the sum over rows, for a bias.
    Ones,
}

/// The widths of a family's per-step rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowWidths {
    /// Saved row `S`.
    pub saved: usize,
    /// Where h_prev sits in the saved row.
    pub h_prev: usize,
    /// Where u sits in the saved row (LSTM with a projection).
    pub u: usize,
    /// Gate-gradient row.
    pub dg: usize,
    /// Where the hidden-side gate gradients (for W_hh, b_hh) start in the dG row.
    pub dg_hidden: usize,
    /// Where ∂L/∂h sits in the dG row (LSTM with a projection).
    pub dg_h: usize,
}

impl RowWidths {
    /// The widths for `config`. Keep in sync with the `*_step_train` and `*_step_backward`
    /// kernels.
    pub fn new(config: &RnnConfig) -> Self {
        let (h, h_out) = (config.hidden_size, config.output_hidden());
        let proj = if config.proj_size > 0 { h } else { 0 };
        match config.family() {
            crate::config::Family::Lstm => Self {
                saved: 5 * h + h_out + proj,
                h_prev: 5 * h + proj,
                u: 5 * h,
                dg: 4 * h + if proj > 0 { h_out } else { 0 },
                dg_hidden: 0,
                dg_h: 4 * h,
            },
            crate::config::Family::Gru => Self {
                saved: 5 * h,
                h_prev: 4 * h,
                u: 0,
                dg: 6 * h,
                dg_hidden: 3 * h,
                dg_h: 0,
            },
            crate::config::Family::Rnn => Self {
                saved: 2 * h,
                h_prev: 0,
                u: 0,
                dg: h,
                dg_hidden: 0,
                dg_h: 0,
            },
        }
    }
}

fn u32_of(v: usize) -> u32 {
    u32::try_from(v).expect("sizes were checked to fit the device")
}

/// `gx = x·W_ihᵀ + b_ih` of `layer` for all `rows`: x (rows, I_l) into gx (D, rows, G·H).
pub fn input_projection(config: &RnnConfig, g: GroupOffsets, layer: usize, rows: usize) -> Gemm {
    let in_w = config.layer_input_size(layer);
    let gates = config.gate_count() * config.hidden_size;
    Gemm {
        m: u32_of(rows),
        n: u32_of(gates),
        k: u32_of(in_w),
        flags: if config.bias { GEMM_BIAS } else { 0 },
        a_rs: u32_of(in_w),
        a_cs: 1,
        b_off: u32_of(g.w_ih),
        b_rs: 1,
        b_cs: u32_of(in_w),
        b_z: u32_of(g.group_stride),
        c_rs: u32_of(gates),
        c_z: u32_of(rows * gates),
        bias_off: u32_of(g.b_ih),
        bias_z: u32_of(g.group_stride),
        ..Gemm::default()
    }
}

/// `layer`'s parameter gradients `Σ_rows dGᵀ·operand` into the flat gradients (added to them
/// when `accumulate`): weight_ih, weight_hh, then bias_ih, bias_hh, weight_hr where present, each
/// with its operand and name.
pub fn weight_grads(
    config: &RnnConfig,
    g: GroupOffsets,
    layer: usize,
    rows: usize,
    accumulate: bool,
) -> Vec<(Gemm, Operand, &'static str)> {
    let w = RowWidths::new(config);
    let (h, h_out) = (config.hidden_size, config.output_hidden());
    let gates = config.gate_count() * h;
    let in_w = config.layer_input_size(layer);
    let saved_rows = rows * w.saved;
    // C (m, n) at c_off (row stride n) = Σ_rows dG[row, a_off..a_off + m]ᵀ · B[row, ..n], B's
    // row `row` at b_off + row·b_rs.
    let grad = |a_off: usize, m: usize, (b_off, b_rs, b_z): (usize, usize, usize), c_off, n| Gemm {
        m: u32_of(m),
        n: u32_of(n),
        k: u32_of(rows),
        flags: if accumulate { GEMM_ACCUMULATE } else { 0 },
        a_off: u32_of(a_off),
        a_rs: 1,
        a_cs: u32_of(w.dg),
        a_z: u32_of(rows * w.dg),
        b_off: u32_of(b_off),
        b_rs: u32_of(b_rs),
        b_cs: 1,
        b_z: u32_of(b_z),
        c_off: u32_of(c_off),
        c_rs: u32_of(n),
        c_z: u32_of(g.group_stride),
        ..Gemm::default()
    };
    let h_prev = (w.h_prev, w.saved, saved_rows);
    let mut out = vec![
        (
            grad(0, gates, (0, in_w, 0), g.w_ih, in_w),
            Operand::LayerInput,
            "weight_ih",
        ),
        (
            grad(w.dg_hidden, gates, h_prev, g.w_hh, h_out),
            Operand::Saved,
            "weight_hh",
        ),
    ];
    if config.bias {
        // Column sums: B is the ones vector (row stride 1, one column).
        let bias = |a_off, c_off| Gemm {
            b_cs: 0,
            ..grad(a_off, gates, (0, 1, 0), c_off, 1)
        };
        out.push((bias(0, g.b_ih), Operand::Ones, "bias_ih"));
        out.push((bias(w.dg_hidden, g.b_hh), Operand::Ones, "bias_hh"));
    }
    if config.proj_size > 0 {
        let u = (w.u, w.saved, saved_rows);
        out.push((
            grad(w.dg_h, h_out, u, g.w_hr, h),
            Operand::Saved,
            "weight_hr",
        ));
    }
    out
}

/// The gradient of `layer`'s input from direction `d`: `dX (rows, I_l) (+)= dG_d·W_ih_d`, added
/// to what direction 0 wrote for direction 1. One direction per dispatch.
pub fn input_grad(
    config: &RnnConfig,
    g: GroupOffsets,
    layer: usize,
    rows: usize,
    d: usize,
) -> Gemm {
    let w = RowWidths::new(config);
    let in_w = config.layer_input_size(layer);
    Gemm {
        m: u32_of(rows),
        n: u32_of(in_w),
        k: u32_of(config.gate_count() * config.hidden_size),
        flags: if d == 0 { 0 } else { GEMM_ACCUMULATE },
        a_off: u32_of(d * rows * w.dg),
        a_rs: u32_of(w.dg),
        a_cs: 1,
        b_off: u32_of(g.w_ih + d * g.group_stride),
        b_rs: u32_of(in_w),
        b_cs: 1,
        c_rs: u32_of(in_w),
        ..Gemm::default()
    }
}
