//! ONNX's `LSTM`, `GRU` and `RNN` nodes as [`Model`]s: attributes and weights mapped to PyTorch's
//! names, gate order and layouts (the one place ONNX's names meet ours), and a node's inputs and
//! outputs converted between ONNX's shapes and the forward's.
//!
//! | ONNX | here |
//! |---|---|
//! | LSTM gates i, o, f, c | i, f, g, o |
//! | GRU gates z, r, h | r, z, n |
//! | `W` [D, G·H, I], `R` [D, G·H, H] | `weight_ih_l0`, `weight_hh_l0` (`_reverse`) |
//! | `B` [D, 2·G·H] = W-bias, R-bias | `bias_ih_l0`, `bias_hh_l0` |
//! | `P` [D, 3H] = i, o, f | `peephole_l0` = i, f, o |
//! | `direction` | `bidirectional`, `reverse` |
//! | `layout` 1 | `batch_first` (and `Y_h`, `Y_c`, `initial_*` as [N, D, H]) |
//! | `linear_before_reset` | `reset_after` |
//! | `input_forget` | `coupled_forget` |
//! | `activations` f, g, h | roles gate, candidate, cell |
//! | `sequence_lens` | lengths under [`LengthRule::Padded`] |
//!
//! Where the specification is silent, onnxruntime's CPU kernels (1.32) decide: `activation_alpha`
//! and `activation_beta` are consumed in order only by the functions that take them, and a
//! function left without a value takes onnxruntime's default (LeakyRelu 0.01, HardSigmoid 0.2 and
//! 0.5, Elu 1.0; Affine, ScaledTanh and ThresholdedRelu 0, where the ONNX operators of those names
//! default to 1); `clip` must be positive; a row of length 0 ends with zero states.

use std::collections::HashMap;

use crate::activation::{Activation, Activations};
use crate::config::{Family, LengthRule, ModuleKind, Nonlinearity, RnnConfig};
use crate::error::{Error, Result};
use crate::forward::{ForwardInput, ForwardOutput};
use crate::model::Model;
use crate::tensor::Tensor;

use super::attrs::Attrs;
use super::ops;
use super::value::Value;

/// A recurrent node ready to run: its model and how its inputs and outputs are laid out.
#[derive(Clone, Debug)]
pub(crate) struct Recurrent {
    /// The node as a one-layer model in PyTorch's layout.
    pub(crate) model: Model,
    /// ONNX `layout`: 0 for [T, N, ·] and [D, N, H], 1 for [N, T, ·] and [N, D, H].
    layout: i64,
}

/// Positions of a recurrent node's inputs.
pub(crate) const X: usize = 0;
/// `W`.
pub(crate) const W: usize = 1;
/// `R`.
pub(crate) const R: usize = 2;
/// `B`.
pub(crate) const B: usize = 3;
/// `sequence_lens`.
pub(crate) const SEQUENCE_LENS: usize = 4;
/// `initial_h`.
pub(crate) const INITIAL_H: usize = 5;
/// `initial_c` (LSTM).
pub(crate) const INITIAL_C: usize = 6;
/// `P` (LSTM).
pub(crate) const P: usize = 7;

/// The family of `op_type` (`LSTM`, `GRU`, `RNN`).
pub(crate) fn family(op_type: &str) -> Option<Family> {
    match op_type {
        "LSTM" => Some(Family::Lstm),
        "GRU" => Some(Family::Gru),
        "RNN" => Some(Family::Rnn),
        _ => None,
    }
}

/// The attributes each operator defines (opset 7 to 22).
fn known_attributes(family: Family) -> &'static [&'static str] {
    match family {
        Family::Lstm => &[
            "activation_alpha",
            "activation_beta",
            "activations",
            "clip",
            "direction",
            "hidden_size",
            "input_forget",
            "layout",
        ],
        Family::Gru => &[
            "activation_alpha",
            "activation_beta",
            "activations",
            "clip",
            "direction",
            "hidden_size",
            "layout",
            "linear_before_reset",
        ],
        Family::Rnn => &[
            "activation_alpha",
            "activation_beta",
            "activations",
            "clip",
            "direction",
            "hidden_size",
            "layout",
        ],
    }
}

/// PyTorch's gate block `k` is ONNX's block `PERM[k]`.
fn gate_permutation(family: Family) -> &'static [usize] {
    match family {
        // i, f, g, o from i, o, f, c.
        Family::Lstm => &[0, 2, 3, 1],
        // r, z, n from z, r, h.
        Family::Gru => &[1, 0, 2],
        Family::Rnn => &[0],
    }
}

/// Builds the model of a recurrent node from its attributes and constant weights (`weights[k]` is
/// input `k` when it is a constant). `has_lengths`: the node reads `sequence_lens`.
pub(crate) fn build(
    family: Family,
    attrs: &Attrs<'_>,
    weights: &[Option<&Value>],
    has_lengths: bool,
) -> std::result::Result<Recurrent, String> {
    if let Some(name) = attrs
        .names()
        .into_iter()
        .find(|n| !known_attributes(family).contains(n))
    {
        return Err(format!("attribute {name} is not supported"));
    }
    let g = family.gate_count();
    let direction = attrs.string("direction")?.unwrap_or("forward".into());
    let (dirs, bidirectional, reverse) = match direction.as_str() {
        "forward" => (1, false, false),
        "reverse" => (1, false, true),
        "bidirectional" => (2, true, false),
        other => {
            return Err(format!(
                "direction=\"{other}\" is not one of forward, reverse, bidirectional"
            ));
        }
    };
    let weight = |k: usize, name: &str| -> std::result::Result<Option<&Tensor>, String> {
        match weights.get(k).copied().flatten() {
            None => Ok(None),
            Some(Value::Float(t)) => Ok(Some(t)),
            Some(v) => Err(format!("input {name} must be a float tensor, got {v}")),
        }
    };
    let w = weight(W, "W")?.ok_or("input W is required")?;
    let r = weight(R, "R")?.ok_or("input R is required")?;
    let (&[wd, wg, input_size], &[rd, rg, rh]) = (w.shape(), r.shape()) else {
        return Err(format!(
            "W {:?} and R {:?} must have 3 dimensions",
            w.shape(),
            r.shape()
        ));
    };
    let hidden = match attrs.int("hidden_size")? {
        Some(h) if h > 0 => h as usize,
        Some(h) => return Err(format!("hidden_size={h} must be positive")),
        None => rh,
    };
    if [wd, rd] != [dirs, dirs] || wg != g * hidden || rg != g * hidden || rh != hidden {
        return Err(format!(
            "W {:?} and R {:?} do not fit {dirs} direction(s) of {g} gates of hidden_size {hidden}: W must be [{dirs}, {}, I], R [{dirs}, {}, {hidden}]",
            w.shape(),
            r.shape(),
            g * hidden,
            g * hidden
        ));
    }
    let b = weight(B, "B")?;
    if let Some(b) = b
        && b.shape() != [dirs, 2 * g * hidden]
    {
        return Err(format!(
            "B has shape {:?}, expected [{dirs}, {}]",
            b.shape(),
            2 * g * hidden
        ));
    }
    let p = if family == Family::Lstm {
        weight(P, "P")?
    } else {
        None
    };
    if let Some(p) = p
        && p.shape() != [dirs, 3 * hidden]
    {
        return Err(format!(
            "P has shape {:?}, expected [{dirs}, {}]",
            p.shape(),
            3 * hidden
        ));
    }
    let layout = match attrs.int("layout")?.unwrap_or(0) {
        l @ (0 | 1) => l,
        l => return Err(format!("layout={l} is not 0 or 1")),
    };
    let flag = |name: &str| -> std::result::Result<bool, String> {
        match attrs.int(name)?.unwrap_or(0) {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(format!("{name}={v} is not 0 or 1")),
        }
    };
    let clip = match attrs.float("clip")? {
        Some(c) if c > 0.0 => Some(c),
        Some(c) => {
            return Err(format!(
                "clip={c} must be positive (as onnxruntime requires)"
            ));
        }
        None => None,
    };

    let kind = match family {
        Family::Lstm => ModuleKind::Lstm,
        Family::Gru => ModuleKind::Gru,
        Family::Rnn => ModuleKind::Rnn,
    };
    let mut config = RnnConfig::new(kind, input_size, hidden)
        .with_bidirectional(bidirectional)
        .with_reverse(reverse)
        .with_batch_first(layout == 1)
        .with_bias(b.is_some())
        .with_peepholes(p.is_some())
        .with_clip(clip)
        .with_coupled_forget(family == Family::Lstm && flag("input_forget")?)
        .with_reset_after(family != Family::Gru || flag("linear_before_reset")?)
        .with_lengths(if has_lengths {
            LengthRule::Padded
        } else {
            LengthRule::Packed
        });
    let acts = activations(family, dirs, attrs)?;
    let pytorch = |n| vec![Activations::pytorch(family, n); dirs];
    if acts == pytorch(Nonlinearity::Relu) && family == Family::Rnn {
        config.nonlinearity = Nonlinearity::Relu;
    } else if acts != pytorch(Nonlinearity::Tanh) {
        config.activations = acts;
    }

    let perm = gate_permutation(family);
    let blocks = |data: &[f32], width: usize| -> Vec<f32> {
        perm.iter()
            .flat_map(|&k| data[k * hidden * width..(k + 1) * hidden * width].to_vec())
            .collect()
    };
    let mut dict = HashMap::new();
    for d in 0..dirs {
        let sfx = if d == 1 { "_reverse" } else { "" };
        let mut put = |name: &str, shape: Vec<usize>, data: Vec<f32>| {
            let t = Tensor::new(shape, data).expect("sizes checked above");
            dict.insert(format!("{name}_l0{sfx}"), t);
        };
        let per_dir = |t: &Tensor| {
            let n = t.data().len() / dirs;
            t.data()[d * n..(d + 1) * n].to_vec()
        };
        put(
            "weight_ih",
            vec![g * hidden, input_size],
            blocks(&per_dir(w), input_size),
        );
        put(
            "weight_hh",
            vec![g * hidden, hidden],
            blocks(&per_dir(r), hidden),
        );
        if let Some(b) = b {
            let both = per_dir(b);
            let (wb, rb) = both.split_at(g * hidden);
            put("bias_ih", vec![g * hidden], blocks(wb, 1));
            put("bias_hh", vec![g * hidden], blocks(rb, 1));
        }
        if let Some(p) = p {
            let iof = per_dir(p);
            let ifo = [0, 2, 1]
                .iter()
                .flat_map(|&k| iof[k * hidden..(k + 1) * hidden].to_vec())
                .collect();
            put("peephole", vec![3 * hidden], ifo);
        }
    }
    let model = Model::from_state_dict(config, dict).map_err(|e| e.to_string())?;
    Ok(Recurrent { model, layout })
}

/// The activations of each direction from `activations`, `activation_alpha` and
/// `activation_beta`, read as onnxruntime reads them (see the module docs).
fn activations(
    family: Family,
    dirs: usize,
    attrs: &Attrs<'_>,
) -> std::result::Result<Vec<Activations>, String> {
    let per_dir = match family {
        Family::Lstm => 3,
        Family::Gru => 2,
        Family::Rnn => 1,
    };
    let defaults = Activations::pytorch(family, Nonlinearity::Tanh).used(family);
    let mut names = match attrs.strings("activations")? {
        Some(names) => names,
        None => defaults
            .iter()
            .cycle()
            .take(per_dir * dirs)
            .map(|a| a.name().to_string())
            .collect(),
    };
    // ONNX's RNN schema once defaulted to ["Tanh", "Tanh"]; onnxruntime keeps the first for
    // one direction.
    if family == Family::Rnn && dirs == 1 && names.len() == 2 {
        names.truncate(1);
    }
    if names.len() != per_dir * dirs {
        return Err(format!(
            "activations lists {} functions; {} needs {} per direction ({} in all)",
            names.len(),
            family_name(family),
            per_dir,
            per_dir * dirs
        ));
    }
    let alphas = attrs.floats("activation_alpha")?.unwrap_or_default();
    let betas = attrs.floats("activation_beta")?.unwrap_or_default();
    let mut alpha_iter = alphas.iter().copied();
    let mut beta_iter = betas.iter().copied();
    let mut parsed = Vec::with_capacity(names.len());
    for name in &names {
        let lower = name.to_ascii_lowercase();
        let (takes_alpha, takes_beta, da, db) = match lower.as_str() {
            "affine" | "scaledtanh" => (true, true, 0.0, 0.0),
            "hardsigmoid" => (true, true, 0.2, 0.5),
            "leakyrelu" => (true, false, 0.01, 0.0),
            "thresholdedrelu" => (true, false, 0.0, 0.0),
            "elu" => (true, false, 1.0, 0.0),
            "relu" | "tanh" | "sigmoid" | "softsign" | "softplus" => (false, false, 0.0, 0.0),
            _ => {
                return Err(format!(
                    "activation \"{name}\" is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus"
                ));
            }
        };
        let alpha = if takes_alpha {
            alpha_iter.next().unwrap_or(da)
        } else {
            0.0
        };
        let beta = if takes_beta {
            beta_iter.next().unwrap_or(db)
        } else {
            0.0
        };
        parsed.push(match lower.as_str() {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "softsign" => Activation::Softsign,
            "softplus" => Activation::Softplus,
            "affine" => Activation::Affine { alpha, beta },
            "scaledtanh" => Activation::ScaledTanh { alpha, beta },
            "hardsigmoid" => Activation::HardSigmoid { alpha, beta },
            "leakyrelu" => Activation::LeakyRelu { alpha },
            "thresholdedrelu" => Activation::ThresholdedRelu { alpha },
            _ => Activation::Elu { alpha },
        });
    }
    Ok(parsed
        .chunks(per_dir)
        .map(|used| Activations::from_used(family, used).expect("per_dir roles per direction"))
        .collect())
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Lstm => "LSTM",
        Family::Gru => "GRU",
        Family::Rnn => "RNN",
    }
}

impl Recurrent {
    /// Runs the node: `X` and the optional `sequence_lens`, `initial_h`, `initial_c` in ONNX's
    /// shapes; returns `Y`, `Y_h` and (LSTM) `Y_c` in ONNX's shapes. `forward` computes the
    /// model on whichever device the caller chose; `bad` turns a message about the inputs into
    /// the caller's error.
    pub(crate) fn run(
        &self,
        inputs: [Option<&Value>; 4],
        forward: &mut dyn FnMut(&Model, &ForwardInput<'_>) -> Result<ForwardOutput>,
        bad: &dyn Fn(String) -> Error,
    ) -> Result<(Value, Value, Option<Value>)> {
        let [x, lens, h0, c0] = inputs;
        let (args, t, n) = self.arguments(x, lens, h0, c0).map_err(bad)?;
        let config = self.model.config();
        let (dirs, hidden) = (config.num_directions(), config.hidden_size);
        let out = forward(&self.model, &args.borrowed())?;
        let shape = |dims: [usize; 4]| dims.map(|d| d as i64);
        let y = Value::Float(out.output);
        let y = if self.layout == 1 {
            ops::reshape(&y, &shape([n, t, dirs, hidden]), false)
        } else {
            ops::reshape(&y, &shape([t, n, dirs, hidden]), false)
                .and_then(|y| ops::transpose(&y, Some(&[0, 2, 1, 3])))
        }
        .map_err(bad)?;
        let state_out = |s: Tensor| Value::Float(if self.layout == 1 { swap01(&s) } else { s });
        Ok((y, state_out(out.h_n), out.c_n.map(state_out)))
    }

    /// The forward's arguments from the node's inputs, checked against the model; with T and N.
    fn arguments(
        &self,
        x: Option<&Value>,
        lens: Option<&Value>,
        h0: Option<&Value>,
        c0: Option<&Value>,
    ) -> std::result::Result<(Arguments, usize, usize), String> {
        let config = self.model.config();
        let (dirs, hidden) = (config.num_directions(), config.hidden_size);
        let x = float(x, "X")?.ok_or("input X is required")?;
        let &[a, b, i] = x.shape() else {
            return Err(format!(
                "X has shape {:?}, expected 3 dimensions",
                x.shape()
            ));
        };
        if i != config.input_size {
            return Err(format!(
                "X has shape {:?} but W expects {} input features",
                x.shape(),
                config.input_size
            ));
        }
        let (t, n) = if self.layout == 1 { (b, a) } else { (a, b) };
        let want_state = if self.layout == 1 {
            [n, dirs, hidden]
        } else {
            [dirs, n, hidden]
        };
        // initial_h / initial_c as (D, N, H).
        let state =
            |v: Option<&Tensor>, name: &str| -> std::result::Result<Option<Tensor>, String> {
                let Some(v) = v else { return Ok(None) };
                if v.shape() != want_state {
                    return Err(format!(
                        "{name} has shape {:?}, expected {want_state:?}",
                        v.shape()
                    ));
                }
                Ok(Some(if self.layout == 1 {
                    swap01(v)
                } else {
                    v.clone()
                }))
            };
        let mut h0 = state(float(h0, "initial_h")?, "initial_h")?;
        let mut c0 = match config.family() {
            Family::Lstm => state(float(c0, "initial_c")?, "initial_c")?,
            _ => None,
        };
        // ONNX gives an LSTM either initial state alone (the other is zero); the forward takes
        // both or neither.
        if config.family() == Family::Lstm && h0.is_some() != c0.is_some() {
            let zeros = || Some(Tensor::zeros([dirs, n, hidden]));
            h0 = h0.or_else(zeros);
            c0 = c0.or_else(zeros);
        }
        let lengths = match lens {
            None => None,
            Some(v) => {
                let l = v
                    .ints()
                    .ok_or_else(|| format!("sequence_lens must be an integer tensor, got {v}"))?;
                if v.shape() != [n] {
                    return Err(format!(
                        "sequence_lens has shape {:?}, expected [{n}] (the batch)",
                        v.shape()
                    ));
                }
                if let Some((k, &bad)) = l
                    .iter()
                    .enumerate()
                    .find(|&(_, &v)| v < 0 || v as usize > t)
                {
                    return Err(format!(
                        "sequence_lens[{k}] = {bad} is outside 0..={t} (the sequence length)"
                    ));
                }
                Some(l.iter().map(|&v| v as usize).collect::<Vec<usize>>())
            }
        };
        let args = Arguments {
            x: x.clone(),
            h0,
            c0,
            lengths,
        };
        Ok((args, t, n))
    }
}

/// A forward's arguments owned (see [`Arguments::borrowed`]).
struct Arguments {
    x: Tensor,
    h0: Option<Tensor>,
    c0: Option<Tensor>,
    lengths: Option<Vec<usize>>,
}

impl Arguments {
    fn borrowed(&self) -> ForwardInput<'_> {
        ForwardInput {
            input: &self.x,
            h0: self.h0.as_ref(),
            c0: self.c0.as_ref(),
            lengths: self.lengths.as_deref(),
        }
    }
}

/// `v` as a float tensor, or an error naming the input.
fn float<'a>(v: Option<&'a Value>, name: &str) -> std::result::Result<Option<&'a Tensor>, String> {
    match v {
        None => Ok(None),
        Some(Value::Float(t)) => Ok(Some(t)),
        Some(v) => Err(format!("{name} must be a float tensor, got {v}")),
    }
}

/// Swaps the outer two dimensions of a 3-dimensional tensor.
fn swap01(t: &Tensor) -> Tensor {
    let &[a, b, c] = t.shape() else {
        unreachable!("states are 3-dimensional");
    };
    let mut out = vec![0.0; t.data().len()];
    for i in 0..a {
        for j in 0..b {
            out[(j * a + i) * c..][..c].copy_from_slice(&t.data()[(i * b + j) * c..][..c]);
        }
    }
    Tensor::new([b, a, c], out).expect("same element count")
}
