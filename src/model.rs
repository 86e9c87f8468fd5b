//! A recurrent model: its configuration and its parameters in PyTorch's names and layouts.

use std::collections::HashMap;
use std::fmt;

use rand::Rng;

use crate::config::RnnConfig;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The parameters of one (layer, direction), in PyTorch's layouts. `G` is the gate count (1, 4, 3),
/// `H` the hidden size, `H_out` the output width (`proj_size` or `H`), `I_l` the layer's input width.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerParams {
    /// `weight_ih_l{k}`: (G·H, I_l), gate blocks stacked i,f,g,o (LSTM) or r,z,n (GRU).
    pub weight_ih: Tensor,
    /// `weight_hh_l{k}`: (G·H, H_out).
    pub weight_hh: Tensor,
    /// `bias_ih_l{k}`: (G·H), absent when `bias=False`.
    pub bias_ih: Option<Tensor>,
    /// `bias_hh_l{k}`: (G·H), absent when `bias=False`.
    pub bias_hh: Option<Tensor>,
    /// `weight_hr_l{k}`: (P, H), present only for LSTM with `proj_size = P > 0`.
    pub weight_hr: Option<Tensor>,
    /// `peephole_l{k}`: (3H), the peephole weights of units i, f, o, present only for LSTM with
    /// `peepholes` (not a PyTorch parameter: ONNX's `P`).
    pub peephole: Option<Tensor>,
}

impl LayerParams {
    /// The tensors present, in `state_dict` order: `weight_ih`, `weight_hh`, `bias_ih`,
    /// `bias_hh`, `weight_hr`.
    pub fn tensors(&self) -> impl Iterator<Item = &Tensor> {
        [
            Some(&self.weight_ih),
            Some(&self.weight_hh),
            self.bias_ih.as_ref(),
            self.bias_hh.as_ref(),
            self.weight_hr.as_ref(),
            self.peephole.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// [`LayerParams::tensors`], mutable.
    pub fn tensors_mut(&mut self) -> impl Iterator<Item = &mut Tensor> {
        [
            Some(&mut self.weight_ih),
            Some(&mut self.weight_hh),
            self.bias_ih.as_mut(),
            self.bias_hh.as_mut(),
            self.weight_hr.as_mut(),
            self.peephole.as_mut(),
        ]
        .into_iter()
        .flatten()
    }
}

/// One of PyTorch's recurrent modules with its weights: `RNN`, `LSTM`, `GRU` or a cell.
///
/// Parameter groups are indexed `layer * D + direction` (direction 0 forward, 1 reverse), as
/// PyTorch indexes `h_n`.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    config: RnnConfig,
    groups: Vec<LayerParams>,
}

impl Model {
    /// A fresh model initialised like PyTorch: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), `H` being
    /// `hidden_size` (even when `proj_size > 0`), drawn from `rng` in `state_dict` order.
    pub fn new(config: RnnConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let bound = 1.0 / (config.hidden_size as f64).sqrt();
        let tensors = config
            .parameter_specs()
            .into_iter()
            .map(|(name, shape)| {
                let numel = shape.iter().product();
                let data = (0..numel)
                    .map(|_| rng.random_range(-bound..bound) as f32)
                    .collect();
                (name, Tensor::new(shape, data).expect("numel matches shape"))
            })
            .collect();
        Self::from_state_dict(config, tensors)
    }

    /// [`Model::new`] with a seeded generator: the same seed gives the same parameters (those of
    /// `Model::new(config, &mut StdRng::seed_from_u64(seed))`, with [`rand`]'s 0.9 `StdRng`
    /// re-exported as `wgpu_rnn::rand::rngs::StdRng`).
    pub fn new_seeded(config: RnnConfig, seed: u64) -> Result<Self> {
        use rand::SeedableRng;
        Self::new(config, &mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    /// A model from a `state_dict`: every parameter the configuration implies must be present with
    /// PyTorch's shape, and nothing else.
    pub fn from_state_dict(
        config: RnnConfig,
        mut tensors: HashMap<String, Tensor>,
    ) -> Result<Self> {
        config.validate()?;
        let mut take = |name: String, shape: &[usize]| -> Result<Tensor> {
            let tensor = tensors.remove(&name).ok_or_else(|| Error::MissingTensor {
                name: name.clone(),
                context: format!(" for {config}"),
            })?;
            if tensor.shape() != shape {
                return Err(Error::ShapeMismatch {
                    name,
                    actual: tensor.shape().to_vec(),
                    expected: format!("{config} expects {shape:?}"),
                });
            }
            Ok(tensor)
        };
        let mut specs = config.parameter_specs().into_iter();
        let mut next = |want_prefix: &str| -> Result<Tensor> {
            let (name, shape) = specs.next().expect("parameter_specs lists every parameter");
            debug_assert!(name.starts_with(want_prefix), "{name} vs {want_prefix}");
            take(name, &shape)
        };
        let mut groups = Vec::with_capacity(config.num_groups());
        for _ in 0..config.num_groups() {
            let weight_ih = next("weight_ih")?;
            let weight_hh = next("weight_hh")?;
            let (bias_ih, bias_hh) = if config.bias {
                (Some(next("bias_ih")?), Some(next("bias_hh")?))
            } else {
                (None, None)
            };
            let weight_hr = if config.proj_size > 0 {
                Some(next("weight_hr")?)
            } else {
                None
            };
            let peephole = if config.peepholes {
                Some(next("peephole")?)
            } else {
                None
            };
            groups.push(LayerParams {
                weight_ih,
                weight_hh,
                bias_ih,
                bias_hh,
                weight_hr,
                peephole,
            });
        }
        if let Some(name) = tensors.keys().min() {
            return Err(Error::UnexpectedTensor {
                name: name.clone(),
                context: format!(" in the state_dict of {config}"),
                expected: "only the parameters PyTorch's module has".into(),
            });
        }
        Ok(Self { config, groups })
    }

    /// The configuration.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// The parameters of every (layer, direction), indexed `layer * D + direction`.
    pub fn groups(&self) -> &[LayerParams] {
        &self.groups
    }

    /// The parameters of `layer`, `direction`.
    pub fn group(&self, layer: usize, direction: usize) -> &LayerParams {
        &self.groups[layer * self.config.num_directions() + direction]
    }

    /// Every parameter tensor, mutable, in `state_dict` order (shapes must stay as they are).
    pub fn parameters_mut(&mut self) -> Vec<&mut Tensor> {
        self.groups
            .iter_mut()
            .flat_map(LayerParams::tensors_mut)
            .collect()
    }

    /// The `state_dict`: PyTorch's names and tensors, in PyTorch's order.
    pub fn state_dict(&self) -> Vec<(String, &Tensor)> {
        let names = self.config.parameter_specs().into_iter().map(|(n, _)| n);
        let tensors = self.groups.iter().flat_map(LayerParams::tensors);
        names.zip(tensors).collect()
    }
}

/// PyTorch's `repr` of the module, e.g. `LSTM(5, 7)`.
impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn init_is_uniform_within_pytorch_bound_and_seedable() {
        let config = RnnConfig::lstm(3, 16)
            .with_proj_size(5)
            .with_bidirectional(true);
        let a = Model::new(config.clone(), &mut rand::rngs::StdRng::seed_from_u64(7)).unwrap();
        let b = Model::new(config.clone(), &mut rand::rngs::StdRng::seed_from_u64(7)).unwrap();
        let c = Model::new(config, &mut rand::rngs::StdRng::seed_from_u64(8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let all: Vec<f32> = a
            .state_dict()
            .iter()
            .flat_map(|(_, t)| t.data().to_vec())
            .collect();
        assert!(all.iter().all(|v| v.abs() <= 0.25));
        let max = all.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            max > 0.24,
            "draws should approach the bound 1/sqrt(16), max {max}"
        );
        let mean = all.iter().sum::<f32>() / all.len() as f32;
        assert!(mean.abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn state_dict_round_trips() {
        let config = RnnConfig::gru(4, 6).with_num_layers(2).with_bias(false);
        let model = Model::new(config.clone(), &mut rand::rngs::StdRng::seed_from_u64(1)).unwrap();
        let dict: HashMap<String, Tensor> = model
            .state_dict()
            .into_iter()
            .map(|(n, t)| (n, t.clone()))
            .collect();
        assert_eq!(dict.len(), 4);
        let again = Model::from_state_dict(config.clone(), dict.clone()).unwrap();
        assert_eq!(model, again);

        let mut extra = dict.clone();
        extra.insert("bias_ih_l0".into(), Tensor::zeros([18]));
        assert!(matches!(
            Model::from_state_dict(config.clone(), extra),
            Err(Error::UnexpectedTensor { .. })
        ));
        let mut missing = dict.clone();
        missing.remove("weight_hh_l1");
        assert!(matches!(
            Model::from_state_dict(config.clone(), missing),
            Err(Error::MissingTensor { .. })
        ));
        let mut misshapen = dict;
        misshapen.insert("weight_hh_l1".into(), Tensor::zeros([18, 5]));
        assert!(matches!(
            Model::from_state_dict(config, misshapen),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
