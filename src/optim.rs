//! Optimizers with PyTorch's update formulas and defaults (`torch.optim.SGD`, `Adam`, `AdamW`),
//! `clip_grad_norm_`, and the f64 reference that applies them to a [`Model`] on the CPU.
//!
//! The same configurations drive the GPU optimizer; [`sgd_step`] and [`adam_step`] are the CPU
//! twins of its `sgd_step` and `adam_step` kernels.
//!
//! **zero_grad semantics.** PyTorch accumulates into `.grad` until `zero_grad()`. Here a
//! backward returns (or, on the GPU, writes) fresh gradients: it is `zero_grad()` followed by
//! `backward()`. To accumulate over several backwards (micro-batches, truncated-BPTT windows), add
//! the gradients before the step ([`Gradients::accumulate`]; the GPU backward has an
//! `accumulate` flag). An optimizer step never clears gradients.

use crate::backward::Gradients;
use crate::error::{Error, Result};
use crate::model::{LayerParams, Model};
use crate::tensor::Tensor;

/// `torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov)`:
/// `g = grad + weight_decay·p`; with momentum, `b = g` on the first step, then
/// `b = momentum·b + (1 − dampening)·g`, and `g = g + momentum·b` (nesterov) or `g = b`;
/// `p = p − lr·g`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// Learning rate (PyTorch's default 1e-3).
    pub lr: f64,
    /// Momentum factor (default 0).
    pub momentum: f64,
    /// Dampening for momentum (default 0).
    pub dampening: f64,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f64,
    /// Nesterov momentum (default false).
    pub nesterov: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl Sgd {
    /// SGD with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            ..Self::default()
        }
    }
    /// Sets the momentum factor.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Sets the dampening.
    pub fn with_dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }
    /// Sets the L2 penalty.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
    /// Turns Nesterov momentum on or off.
    pub fn with_nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
}

/// `torch.optim.Adam(params, lr, betas, eps, weight_decay, decoupled_weight_decay)`, and
/// `torch.optim.AdamW` as [`Adam::adamw`]: at step `t` (from 1), with weight decay `p = p·(1 −
/// lr·weight_decay)` (decoupled, AdamW) or `g = grad + weight_decay·p` (Adam);
/// `m = β1·m + (1 − β1)·g`, `v = β2·v + (1 − β2)·g²`,
/// `p = p − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + eps)`. `amsgrad` and `maximize` are not offered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// `(β1, β2)` (default (0.9, 0.999)).
    pub betas: (f64, f64),
    /// Added to the denominator (default 1e-8).
    pub eps: f64,
    /// Weight decay (Adam's default 0, AdamW's 1e-2).
    pub weight_decay: f64,
    /// AdamW's decoupled weight decay (Adam's default false).
    pub decoupled_weight_decay: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

impl Adam {
    /// Adam with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            ..Self::default()
        }
    }
    /// `torch.optim.AdamW` with learning rate `lr` and its defaults (weight decay 1e-2, decoupled).
    pub fn adamw(lr: f64) -> Self {
        Self {
            lr,
            weight_decay: 1e-2,
            decoupled_weight_decay: true,
            ..Self::default()
        }
    }
    /// Sets `(β1, β2)`.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.betas = (beta1, beta2);
        self
    }
    /// Sets `eps`.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets the weight decay (L2 for Adam, decoupled for AdamW).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

/// An optimizer's configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// `torch.optim.SGD`.
    Sgd(Sgd),
    /// `torch.optim.Adam` or `AdamW`.
    Adam(Adam),
}

impl From<Sgd> for Optimizer {
    fn from(s: Sgd) -> Self {
        Optimizer::Sgd(s)
    }
}

impl From<Adam> for Optimizer {
    fn from(a: Adam) -> Self {
        Optimizer::Adam(a)
    }
}

impl Optimizer {
    /// Refuses what PyTorch's constructors refuse: negative or non-finite rates, betas outside
    /// [0, 1), Nesterov without momentum or with dampening.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        let non_negative = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                bad(format!("{name} = {v}: it must be a finite number >= 0"))
            }
        };
        match *self {
            Optimizer::Sgd(s) => {
                non_negative("lr", s.lr)?;
                non_negative("momentum", s.momentum)?;
                non_negative("dampening", s.dampening)?;
                non_negative("weight_decay", s.weight_decay)?;
                if s.nesterov && (s.momentum <= 0.0 || s.dampening != 0.0) {
                    return bad(
                        "nesterov momentum requires a momentum > 0 and zero dampening".into(),
                    );
                }
            }
            Optimizer::Adam(a) => {
                non_negative("lr", a.lr)?;
                non_negative("eps", a.eps)?;
                non_negative("weight_decay", a.weight_decay)?;
                for (name, beta) in [("betas[0]", a.betas.0), ("betas[1]", a.betas.1)] {
                    if !(0.0..1.0).contains(&beta) {
                        return bad(format!("{name} = {beta}: it must be in [0, 1)"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Sgd(s) => s.lr,
            Optimizer::Adam(a) => a.lr,
        }
    }

    /// Sets the learning rate (for a schedule between steps).
    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Optimizer::Sgd(s) => s.lr = lr,
            Optimizer::Adam(a) => a.lr = lr,
        }
    }
}

/// One SGD step on one parameter (f32 storage, f64 arithmetic). `buf` is the momentum buffer,
/// `None` before the first step (and unused without momentum).
pub fn sgd_step(cfg: &Sgd, param: &mut [f32], grad: &[f32], buf: &mut Option<Vec<f64>>) {
    let first = buf.is_none();
    let momentum = cfg.momentum != 0.0;
    let b = buf.get_or_insert_with(|| {
        if momentum {
            vec![0.0; param.len()]
        } else {
            Vec::new()
        }
    });
    for (i, (p, &g)) in param.iter_mut().zip(grad).enumerate() {
        let g = g as f64 + cfg.weight_decay * *p as f64;
        let step = if !momentum {
            g
        } else {
            b[i] = if first {
                g
            } else {
                cfg.momentum * b[i] + (1.0 - cfg.dampening) * g
            };
            if cfg.nesterov {
                g + cfg.momentum * b[i]
            } else {
                b[i]
            }
        };
        *p = (*p as f64 - cfg.lr * step) as f32;
    }
}

/// One Adam (or AdamW) step `t` (from 1) on one parameter (f32 storage, f64 arithmetic), with
/// its first and second moments `m` and `v`.
pub fn adam_step(
    cfg: &Adam,
    t: u64,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f64],
    v: &mut [f64],
) {
    let (b1, b2) = cfg.betas;
    let bias1 = 1.0 - b1.powi(t as i32);
    let bias2_sqrt = (1.0 - b2.powi(t as i32)).sqrt();
    let step_size = cfg.lr / bias1;
    for i in 0..param.len() {
        let mut p = param[i] as f64;
        let mut g = grad[i] as f64;
        if cfg.decoupled_weight_decay {
            p *= 1.0 - cfg.lr * cfg.weight_decay;
        } else {
            g += cfg.weight_decay * p;
        }
        m[i] += (1.0 - b1) * (g - m[i]);
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        let denom = v[i].sqrt() / bias2_sqrt + cfg.eps;
        param[i] = (p - step_size * m[i] / denom) as f32;
    }
}

/// `torch.nn.utils.clip_grad_norm_(parameters, max_norm)`: scales every parameter gradient by
/// `min(1, max_norm / (‖g‖₂ + 1e-6))`, the norm taken over all of them at once; returns the
/// norm before clipping. The input and state gradients are not parameters and stay as they are.
pub fn clip_grad_norm(grads: &mut Gradients, max_norm: f64) -> f64 {
    let total = grads
        .params
        .iter()
        .flat_map(LayerParams::tensors)
        .flat_map(|t| t.data())
        .map(|&g| g as f64 * g as f64)
        .sum::<f64>()
        .sqrt();
    let coef = (max_norm / (total + 1e-6)).min(1.0);
    for t in grads.params.iter_mut().flat_map(LayerParams::tensors_mut) {
        t.data_mut()
            .iter_mut()
            .for_each(|g| *g = (*g as f64 * coef) as f32);
    }
    total
}

/// The f64 reference optimizer: applies an [`Optimizer`] to a [`Model`]'s parameters on the CPU,
/// keeping its state (momentum buffers or Adam's moments, and the step count) in f64.
#[derive(Clone, Debug)]
pub struct ReferenceOptimizer {
    config: Optimizer,
    steps: u64,
    /// Per parameter in `state_dict` order: SGD's momentum buffer, or Adam's (m, v).
    state: Vec<(Option<Vec<f64>>, Vec<f64>)>,
}

impl ReferenceOptimizer {
    /// A fresh optimizer (no steps taken), or the reason `config` is refused.
    pub fn new(config: impl Into<Optimizer>) -> Result<Self> {
        let config = config.into();
        config.validate()?;
        Ok(Self {
            config,
            steps: 0,
            state: Vec::new(),
        })
    }

    /// The configuration; change its learning rate between steps with [`Optimizer::set_lr`].
    pub fn config_mut(&mut self) -> &mut Optimizer {
        &mut self.config
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Updates every parameter of `model` from its gradient in `grads` (from a backward of this
    /// model: same groups and shapes).
    pub fn step(&mut self, model: &mut Model, grads: &Gradients) {
        self.steps += 1;
        let params = model.parameters_mut();
        let grad_tensors: Vec<&Tensor> =
            grads.params.iter().flat_map(LayerParams::tensors).collect();
        assert_eq!(
            params.len(),
            grad_tensors.len(),
            "gradients come from a backward of this model"
        );
        if self.state.is_empty() {
            self.state = params.iter().map(|_| (None, Vec::new())).collect();
        }
        for ((p, g), (buf, v)) in params.into_iter().zip(grad_tensors).zip(&mut self.state) {
            assert_eq!(
                p.shape(),
                g.shape(),
                "gradients come from a backward of this model"
            );
            match &self.config {
                Optimizer::Sgd(cfg) => sgd_step(cfg, p.data_mut(), g.data(), buf),
                Optimizer::Adam(cfg) => {
                    let m = buf.get_or_insert_with(|| vec![0.0; g.data().len()]);
                    v.resize(m.len(), 0.0);
                    adam_step(cfg, self.steps, p.data_mut(), g.data(), m, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_pytorch_refuses() {
        let refused = |o: Optimizer| o.validate().unwrap_err().to_string();
        assert!(refused(Sgd::new(-0.1).into()).contains("lr = -0.1"));
        assert!(refused(Sgd::new(0.1).with_nesterov(true).into()).contains("nesterov"));
        let damped = Sgd::new(0.1).with_momentum(0.9).with_dampening(0.1);
        assert!(refused(damped.with_nesterov(true).into()).contains("nesterov"));
        assert!(refused(Adam::new(0.1).with_betas(0.9, 1.0).into()).contains("betas[1]"));
        assert!(refused(Adam::new(f64::NAN).into()).contains("lr"));
        assert!(Optimizer::from(Adam::adamw(1e-3)).validate().is_ok());
        assert!(ReferenceOptimizer::new(Sgd::new(0.1).with_momentum(-1.0)).is_err());
    }

    #[test]
    fn defaults_are_pytorchs() {
        assert_eq!(Sgd::default(), Sgd::new(1e-3));
        let adam = Adam::default();
        assert_eq!(
            (adam.lr, adam.betas, adam.eps, adam.weight_decay),
            (1e-3, (0.9, 0.999), 1e-8, 0.0)
        );
        let adamw = Adam::adamw(1e-3);
        assert_eq!(
            (adamw.weight_decay, adamw.decoupled_weight_decay),
            (1e-2, true)
        );
    }

    #[test]
    fn clip_grad_norm_scales_parameters_only() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let model = Model::new(crate::RnnConfig::gru(2, 3), &mut rng).unwrap();
        let x = Tensor::new([2, 1, 2], vec![0.5, -1.0, 2.0, 0.25]).unwrap();
        let g = Tensor::new([2, 1, 3], vec![1.0, -2.0, 0.5, 3.0, 1.0, -1.0]).unwrap();
        let args = crate::ForwardInput::new(&x);
        let (_, grads) = model
            .backward_reference(&args, &crate::OutputGrads::new(&g))
            .unwrap();
        let norm = |g: &Gradients| {
            g.params
                .iter()
                .flat_map(LayerParams::tensors)
                .flat_map(|t| t.data())
                .map(|&v| v as f64 * v as f64)
                .sum::<f64>()
                .sqrt()
        };
        let mut clipped = grads.clone();
        let total = clip_grad_norm(&mut clipped, 0.5);
        assert!((total - norm(&grads)).abs() < 1e-9 && total > 0.5);
        assert!((norm(&clipped) - 0.5).abs() < 1e-5, "{}", norm(&clipped));
        assert_eq!(clipped.input, grads.input);
        let mut unclipped = grads.clone();
        clip_grad_norm(&mut unclipped, 1e9);
        assert_eq!(unclipped, grads);
    }
}
