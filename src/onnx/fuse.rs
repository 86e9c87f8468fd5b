//! An ONNX graph as one [`Model`]: the chain of recurrent nodes `torch.onnx.export` writes for a
//! stacked module (one node per layer, glue between them), fused back into the multi-layer model
//! it came from, so that it runs as any other model (a [`crate::GpuModel`], streams,
//! `encode_forward`).
//!
//! The glue between layers only moves values around, so instead of matching the exporter's
//! patterns op by op, the fusion is checked numerically: the candidate model (and each layout,
//! time-major or batch-first) runs beside the graph on a random probe, and is accepted only when
//! every output agrees. A graph that computes something else is refused, never approximated.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};

use crate::config::LengthRule;
use crate::error::{Error, Result};
use crate::forward::ForwardInput;
use crate::model::Model;
use crate::tensor::Tensor;

use super::value::Value;
use super::{Dim, OnnxModel};

/// Largest difference (relative to max(1, |v|)) between the graph and the fused model on the
/// probe: both are the same f64 computation rounded to f32, so only rounding separates them.
const PROBE_TOLERANCE: f64 = 1e-6;

impl OnnxModel {
    /// The graph as one model:
    /// - a stack: the recurrent nodes are the layers of one module, and the graph's inputs and
    ///   outputs are that module's (`input`, `h0`, `c0` in; `output`, `h_n`, `c_n` out, in
    ///   PyTorch's shapes) — what `torch.onnx.export` writes for `nn.LSTM`, `nn.GRU` and `nn.RNN`;
    /// - otherwise a graph with one recurrent node gives that node's model, whose inputs and
    ///   outputs are PyTorch's shapes (not the graph's `Y` [T, D, N, H]).
    ///
    /// Anything else is [`Error::Unsupported`]: run it with [`OnnxModel::run_with`].
    pub fn to_model(&self) -> Result<Model> {
        let nodes = self.recurrent_models();
        if let Some(stacked) = self.stack(&nodes) {
            for batch_first in [false, true] {
                let mut config = stacked.config().clone();
                config.batch_first = batch_first;
                let candidate = Model::from_state_dict(config, state_dict(&stacked))?;
                if self.agrees_with(&candidate) {
                    return Ok(candidate);
                }
            }
        }
        match nodes.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(Error::Unsupported(format!(
                "{} as one model: its {} recurrent nodes are not the layers of one module with the module's inputs and outputs; run the graph instead",
                self.path().display(),
                nodes.len()
            ))),
        }
    }

    /// The recurrent nodes stacked into one time-major model, when their configurations chain:
    /// the same options, each layer's input the previous layer's output width.
    fn stack(&self, nodes: &[&Model]) -> Option<Model> {
        let first = nodes.first()?.config();
        if first.lengths != LengthRule::Packed {
            return None;
        }
        let mut config = first.clone();
        config.num_layers = nodes.len();
        config.batch_first = false;
        let mut dict = HashMap::new();
        for (layer, node) in nodes.iter().enumerate() {
            let mut c = node.config().clone();
            c.input_size = first.input_size;
            c.batch_first = false;
            let mut f = first.clone();
            f.batch_first = false;
            if c != f || node.config().input_size != config.layer_input_size(layer) {
                return None;
            }
            for (name, t) in node.state_dict() {
                dict.insert(name.replacen("_l0", &format!("_l{layer}"), 1), t.clone());
            }
        }
        Model::from_state_dict(config, dict).ok()
    }

    /// Whether `model` computes the graph: the graph's inputs read as `input`, `h0`, `c0` and its
    /// outputs as `output`, `h_n`, `c_n`, on a random probe.
    fn agrees_with(&self, model: &Model) -> bool {
        let config = model.config();
        let lstm = config.family() == crate::config::Family::Lstm;
        let want_inputs = if lstm { [1, 3] } else { [1, 2] };
        if !want_inputs.contains(&self.inputs().len()) || self.inputs().iter().any(|i| !i.float) {
            return false;
        }
        let want_outputs = if lstm { 3 } else { 2 };
        if self.outputs().len() != want_outputs {
            return false;
        }
        // Probe sizes: the declared ones where fixed, else T = 3, N = 2 (distinct, so a layout
        // mix-up shows).
        let dims = self.inputs()[0].dims.clone().unwrap_or_default();
        let fixed = |k: usize, default: usize| match dims.get(k) {
            Some(Dim::Fixed(n)) => *n,
            _ => default,
        };
        let (t, n) = if config.batch_first {
            (fixed(1, 3), fixed(0, 2))
        } else {
            (fixed(0, 3), fixed(1, 2))
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let mut random = |shape: Vec<usize>| {
            let len = shape.iter().product();
            Tensor::new(
                shape,
                (0..len).map(|_| rng.random_range(-1.0..1.0)).collect(),
            )
            .expect("sizes match")
        };
        let i = config.input_size;
        let x = random(if config.batch_first {
            vec![n, t, i]
        } else {
            vec![t, n, i]
        });
        let states = config.num_groups();
        let h0 = random(vec![states, n, config.output_hidden()]);
        let c0 = random(vec![states, n, config.hidden_size]);
        let mut inputs = vec![(self.inputs()[0].name.clone(), Value::Float(x.clone()))];
        let mut args = ForwardInput::new(&x);
        if self.inputs().len() > 1 {
            inputs.push((self.inputs()[1].name.clone(), Value::Float(h0.clone())));
            args = args.with_h0(&h0);
            if lstm {
                inputs.push((self.inputs()[2].name.clone(), Value::Float(c0.clone())));
                args = args.with_c0(&c0);
            }
        }
        let (Ok(graph), Ok(fused)) = (self.run_reference(&inputs), model.forward_reference(&args))
        else {
            return false;
        };
        let fused: Vec<&Tensor> = [Some(&fused.output), Some(&fused.h_n), fused.c_n.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        graph.iter().zip(fused).all(|((_, g), f)| match g {
            Value::Float(g) => g.shape() == f.shape() && close(g.data(), f.data()),
            Value::Int(_) => false,
        })
    }
}

/// The model's parameters by name, owned.
fn state_dict(model: &Model) -> HashMap<String, Tensor> {
    model
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.clone()))
        .collect()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.iter().zip(b).all(|(&x, &y)| {
        let (x, y) = (f64::from(x), f64::from(y));
        (x - y).abs() <= PROBE_TOLERANCE * y.abs().max(1.0)
    })
}
