//! The arguments and results of a backward pass in PyTorch's shapes, their validation, and the
//! time-major layout every backend computes in.
//!
//! A backward is the vector-Jacobian product of a forward: for the scalar
//! `L = Σ output·grad_output + Σ h_n·grad_h_n + Σ c_n·grad_c_n` it gives `∂L/∂input`, `∂L/∂h0`,
//! `∂L/∂c0` and `∂L/∂p` for every parameter `p`, what `torch.autograd.grad(outputs=(output, h_n,
//! c_n), inputs=..., grad_outputs=(grad_output, grad_h_n, grad_c_n))` returns.

use crate::config::{Family, RnnConfig};
use crate::error::{Error, Result};
use crate::forward::{Prepared, transpose01};
use crate::model::LayerParams;
use crate::tensor::Tensor;

/// The gradients flowing into a forward's results; an absent one is zero.
///
/// Each has the shape of the result it belongs to (see [`crate::ForwardOutput`]):
/// - `grad_output`: (T_out, N, D·H_out), (N, T_out, D·H_out) with `batch_first`, or (T_out, D·H_out)
///   unbatched, where `T_out` is T or max(lengths); cells (N, H) or (H);
/// - `grad_h_n`: (D·L, N, H_out) or (D·L, H_out); cells (N, H) or (H);
/// - `grad_c_n` (LSTM, LSTMCell only): (D·L, N, H) or (D·L, H); cells (N, H) or (H).
///
/// A cell's `output` and `h_n` are the same tensor, so its `grad_output` and `grad_h_n` add.
/// Entries of `grad_output` past a row's length are ignored: those outputs are constant zeros.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputGrads<'a> {
    /// `∂L/∂output`.
    pub grad_output: Option<&'a Tensor>,
    /// `∂L/∂h_n`.
    pub grad_h_n: Option<&'a Tensor>,
    /// `∂L/∂c_n`.
    pub grad_c_n: Option<&'a Tensor>,
}

impl<'a> OutputGrads<'a> {
    /// Only a gradient for `output`.
    pub fn new(grad_output: &'a Tensor) -> Self {
        Self {
            grad_output: Some(grad_output),
            ..Self::default()
        }
    }
    /// Sets the gradient for `h_n`.
    pub fn with_grad_h_n(mut self, grad_h_n: &'a Tensor) -> Self {
        self.grad_h_n = Some(grad_h_n);
        self
    }
    /// Sets the gradient for `c_n`.
    pub fn with_grad_c_n(mut self, grad_c_n: &'a Tensor) -> Self {
        self.grad_c_n = Some(grad_c_n);
        self
    }
}

/// The results of a backward, in PyTorch's shapes and names.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    /// `∂L/∂input`, the input's shape; 0 at steps past a row's length.
    pub input: Tensor,
    /// `∂L/∂h0`, h0's shape, whether h0 was given or zero.
    pub h0: Tensor,
    /// `∂L/∂c0` for LSTM and LSTMCell, c0's shape.
    pub c0: Option<Tensor>,
    /// `∂L/∂p` for every parameter, per (layer, direction) group in the layout of
    /// [`crate::Model::groups`].
    pub params: Vec<LayerParams>,
    /// The parameter names, in `state_dict` order.
    names: Vec<String>,
}

impl Gradients {
    /// Builds the results from a backend's time-major f64 gradients (see [`RawGradients`]).
    pub(crate) fn from_raw(config: &RnnConfig, p: &Prepared, raw: RawGradients) -> Self {
        let shape = p.call_shape();
        let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        let tensor = |shape: &[usize], data: Vec<f32>| {
            Tensor::new(shape, data).expect("backend gradients have the documented sizes")
        };
        let mut input = f32s(raw.input);
        if shape.batched && shape.batch_first {
            input = transpose01(&input, p.seq_len, p.batch, config.input_size);
        }
        let input = tensor(&shape.input(config.input_size), input);
        let h0 = tensor(&shape.h, f32s(raw.h0));
        let c0 = shape.c.as_ref().map(|c| tensor(c, f32s(raw.c0)));
        let names = config.parameter_specs();
        let mut specs = names.iter().map(|(_, s)| s.as_slice());
        let mut next =
            |data: Vec<f64>| tensor(specs.next().expect("a spec per tensor"), f32s(data));
        let params = raw
            .params
            .into_iter()
            .map(|g| LayerParams {
                weight_ih: next(g.weight_ih),
                weight_hh: next(g.weight_hh),
                bias_ih: g.bias_ih.map(&mut next),
                bias_hh: g.bias_hh.map(&mut next),
                weight_hr: g.weight_hr.map(&mut next),
                // The backward refuses semantics beyond PyTorch's, peepholes among them.
                peephole: None,
            })
            .collect();
        Self {
            input,
            h0,
            c0,
            params,
            names: names.into_iter().map(|(n, _)| n).collect(),
        }
    }

    /// Adds `other` (a backward of the same model and call shape) into these gradients, as
    /// PyTorch's `.grad` accumulates over backwards without `zero_grad()`.
    ///
    /// # Panics
    /// If the two come from different models or call shapes.
    pub fn accumulate(&mut self, other: &Gradients) {
        let add = |a: &mut Tensor, b: &Tensor| {
            assert_eq!(
                a.shape(),
                b.shape(),
                "gradients of one model and call shape"
            );
            a.data_mut()
                .iter_mut()
                .zip(b.data())
                .for_each(|(a, &b)| *a += b);
        };
        add(&mut self.input, &other.input);
        add(&mut self.h0, &other.h0);
        if let (Some(a), Some(b)) = (&mut self.c0, &other.c0) {
            add(a, b);
        }
        assert_eq!(self.names, other.names, "gradients of one model");
        let theirs = other.params.iter().flat_map(LayerParams::tensors);
        for (a, b) in self
            .params
            .iter_mut()
            .flat_map(LayerParams::tensors_mut)
            .zip(theirs)
        {
            add(a, b);
        }
    }

    /// Every parameter's gradient under the parameter's `state_dict` name, in `state_dict`
    /// order (PyTorch's `{name: p.grad for name, p in module.named_parameters()}`).
    pub fn named_parameters(&self) -> Vec<(&str, &Tensor)> {
        let tensors = self.params.iter().flat_map(LayerParams::tensors);
        self.names.iter().map(String::as_str).zip(tensors).collect()
    }
}

/// One (layer, direction) group's parameter gradients in f64, laid out like [`LayerParams`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GroupGrads {
    pub weight_ih: Vec<f64>,
    pub weight_hh: Vec<f64>,
    pub bias_ih: Option<Vec<f64>>,
    pub bias_hh: Option<Vec<f64>>,
    pub weight_hr: Option<Vec<f64>>,
}

impl GroupGrads {
    /// Zeros shaped like `params`.
    pub fn zeros(params: &LayerParams) -> Self {
        let zeros = |t: &Tensor| vec![0.0; t.data().len()];
        Self {
            weight_ih: zeros(&params.weight_ih),
            weight_hh: zeros(&params.weight_hh),
            bias_ih: params.bias_ih.as_ref().map(zeros),
            bias_hh: params.bias_hh.as_ref().map(zeros),
            weight_hr: params.weight_hr.as_ref().map(zeros),
        }
    }
}

/// A backend's gradients, time-major f64: input (T, N, I), h0 (D·L, N, H_out), c0 (D·L, N, H)
/// (empty unless LSTM), and each group's parameters.
#[derive(Clone, Debug)]
pub(crate) struct RawGradients {
    pub input: Vec<f64>,
    pub h0: Vec<f64>,
    pub c0: Vec<f64>,
    pub params: Vec<GroupGrads>,
}

/// Validated output gradients laid out time-major, the form every backend computes on.
#[derive(Clone, Debug)]
pub struct PreparedGrads {
    /// `grad_output` as (T, N, D·H_out) time-major, zero past `T_out` and past each row's
    /// length (those outputs are constants).
    pub output: Vec<f32>,
    /// `grad_h_n` (D·L, N, H_out); zeros when absent.
    pub h_n: Vec<f32>,
    /// `grad_c_n` (D·L, N, H) for LSTM; zeros when absent; empty for other families.
    pub c_n: Vec<f32>,
}

impl PreparedGrads {
    /// Validates `grads` against the results of the call `p` of `config`.
    pub fn new(config: &RnnConfig, p: &Prepared, grads: &OutputGrads<'_>) -> Result<Self> {
        let shape = p.call_shape();
        let t_out = p.output_steps();
        let width = config.num_directions() * config.output_hidden();
        let check = |name: &str, t: &Tensor, want: &[usize], what: &str| -> Result<()> {
            if t.shape() == want {
                return Ok(());
            }
            Err(Error::ShapeMismatch {
                name: name.into(),
                actual: t.shape().to_vec(),
                expected: format!("{config} with this input gives {what} of shape {want:?}"),
            })
        };
        let mut output = vec![0.0; p.seq_len * p.batch * width];
        if let Some(g) = grads.grad_output {
            check("grad_output", g, &shape.output(t_out), "an output")?;
            let data = if shape.batched && shape.batch_first {
                transpose01(g.data(), p.batch, t_out, width)
            } else {
                g.data().to_vec()
            };
            for t in 0..t_out {
                for n in (0..p.batch).filter(|&n| t < p.length(n)) {
                    let at = (t * p.batch + n) * width;
                    output[at..at + width].copy_from_slice(&data[at..at + width]);
                }
            }
        }
        let h_n = match grads.grad_h_n {
            Some(g) => check("grad_h_n", g, &shape.h, "an h_n").map(|()| g.data().to_vec())?,
            None => vec![0.0; shape.h.iter().product()],
        };
        let c_n = match (&shape.c, grads.grad_c_n) {
            (Some(c), Some(g)) => check("grad_c_n", g, c, "a c_n").map(|()| g.data().to_vec())?,
            (Some(c), None) => vec![0.0; c.iter().product()],
            (None, None) => Vec::new(),
            (None, Some(_)) => {
                return Err(Error::UnexpectedTensor {
                    name: "grad_c_n".into(),
                    context: format!(" for {}", config.kind),
                    expected: "grad_c_n only for LSTM and LSTMCell, which have a c_n".into(),
                });
            }
        };
        debug_assert_eq!(shape.c.is_some(), config.family() == Family::Lstm);
        Ok(Self { output, h_n, c_n })
    }
}
