//! The activation functions a recurrent step may use, beyond PyTorch's fixed sigmoid and tanh:
//! the list of ONNX's `LSTM`/`GRU`/`RNN` operators, chosen per direction and per role.
//!
//! PyTorch's modules use [`Activations::pytorch`]: sigmoid for the gates, tanh (or relu for
//! `RNN(nonlinearity='relu')`) for the candidate, tanh on the LSTM cell. Every path (the f64
//! reference [`Activation::apply`], the GPU kernels) matches on [`Activation`] exhaustively, so a
//! new variant fails to compile until each one handles it.

use std::fmt;

use crate::config::{Family, Nonlinearity};

/// One activation function with its parameters. The formulas are onnxruntime's (which the ONNX
/// operator documents list, except where noted).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `max(0, x)` (NaN stays NaN, as in PyTorch).
    Relu,
    /// `alpha·x + beta`.
    Affine {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x` if `x ≥ 0`, else `alpha·x`.
    LeakyRelu {
        /// Slope below zero.
        alpha: f32,
    },
    /// `x` if `x > alpha`, else 0 (onnxruntime's strict `>`; ONNX's RNN docs write `≥`).
    ThresholdedRelu {
        /// Threshold.
        alpha: f32,
    },
    /// `alpha·tanh(beta·x)`.
    ScaledTanh {
        /// Output scale.
        alpha: f32,
        /// Input scale.
        beta: f32,
    },
    /// `min(max(alpha·x + beta, 0), 1)`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x` if `x ≥ 0`, else `alpha·(e^x − 1)`.
    Elu {
        /// Scale below zero.
        alpha: f32,
    },
    /// `x / (1 + |x|)`.
    Softsign,
    /// `ln(1 + e^x)` (computed without overflow; onnxruntime's f32 `log(1 + exp(x))` gives
    /// `inf` above x ≈ 88).
    Softplus,
}

impl Activation {
    /// The function's name, as ONNX spells it: `Tanh`, `LeakyRelu`, ...
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "Tanh",
            Activation::Sigmoid => "Sigmoid",
            Activation::Relu => "Relu",
            Activation::Affine { .. } => "Affine",
            Activation::LeakyRelu { .. } => "LeakyRelu",
            Activation::ThresholdedRelu { .. } => "ThresholdedRelu",
            Activation::ScaledTanh { .. } => "ScaledTanh",
            Activation::HardSigmoid { .. } => "HardSigmoid",
            Activation::Elu { .. } => "Elu",
            Activation::Softsign => "Softsign",
            Activation::Softplus => "Softplus",
        }
    }

    /// The parameters `(alpha, beta)`, 0 where the function has none.
    pub fn alpha_beta(self) -> (f32, f32) {
        match self {
            Activation::Tanh
            | Activation::Sigmoid
            | Activation::Relu
            | Activation::Softsign
            | Activation::Softplus => (0.0, 0.0),
            Activation::LeakyRelu { alpha }
            | Activation::ThresholdedRelu { alpha }
            | Activation::Elu { alpha } => (alpha, 0.0),
            Activation::Affine { alpha, beta }
            | Activation::ScaledTanh { alpha, beta }
            | Activation::HardSigmoid { alpha, beta } => (alpha, beta),
        }
    }

    /// The function in f64: the CPU reference's (and every other path's) yardstick.
    pub fn apply(self, x: f64) -> f64 {
        let (alpha, beta) = self.alpha_beta();
        let (alpha, beta) = (f64::from(alpha), f64::from(beta));
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Activation::Affine { .. } => alpha * x + beta,
            Activation::LeakyRelu { .. } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::ThresholdedRelu { .. } => {
                if x > alpha || x.is_nan() {
                    x
                } else {
                    0.0
                }
            }
            Activation::ScaledTanh { .. } => alpha * (beta * x).tanh(),
            Activation::HardSigmoid { .. } => (alpha * x + beta).clamp(0.0, 1.0),
            Activation::Elu { .. } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::Softplus => {
                if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            }
        }
    }

    /// Whether the parameters are finite (NaN or infinite `alpha`/`beta` are refused).
    pub fn is_finite(self) -> bool {
        let (alpha, beta) = self.alpha_beta();
        alpha.is_finite() && beta.is_finite()
    }
}

/// `Tanh`, `LeakyRelu(alpha=0.1)`, `HardSigmoid(alpha=0.2, beta=0.5)`.
impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match *self {
            Activation::Tanh
            | Activation::Sigmoid
            | Activation::Relu
            | Activation::Softsign
            | Activation::Softplus => Ok(()),
            Activation::LeakyRelu { alpha }
            | Activation::ThresholdedRelu { alpha }
            | Activation::Elu { alpha } => write!(f, "(alpha={alpha:?})"),
            Activation::Affine { alpha, beta }
            | Activation::ScaledTanh { alpha, beta }
            | Activation::HardSigmoid { alpha, beta } => {
                write!(f, "(alpha={alpha:?}, beta={beta:?})")
            }
        }
    }
}

/// The activations of one direction, by role. A family uses only some roles; the others stay at
/// [`Activations::pytorch`]'s values (checked by [`crate::RnnConfig::validate`]).
///
/// | role | LSTM (gates i, f, g, o) | GRU (gates r, z, n) | RNN |
/// |---|---|---|---|
/// | `gate` (σ) | i, f, o | r, z | unused |
/// | `candidate` (tanh) | g | n | the nonlinearity |
/// | `cell` (tanh) | `h = o·cell(c)` | unused | unused |
///
/// ONNX calls them `f`, `g`, `h` for the LSTM, `f`, `g` for the GRU and `f` for the RNN.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activations {
    /// The gates' activation: sigmoid in PyTorch.
    pub gate: Activation,
    /// The candidate's activation (the RNN's only one): tanh (or relu) in PyTorch.
    pub candidate: Activation,
    /// The LSTM cell output's activation: tanh in PyTorch.
    pub cell: Activation,
}

impl Activations {
    /// PyTorch's: sigmoid gates, a tanh candidate (`nonlinearity` for the RNN), tanh on the cell.
    pub fn pytorch(family: Family, nonlinearity: Nonlinearity) -> Self {
        let candidate = match (family, nonlinearity) {
            (Family::Rnn, Nonlinearity::Relu) => Activation::Relu,
            _ => Activation::Tanh,
        };
        Self {
            gate: Activation::Sigmoid,
            candidate,
            cell: Activation::Tanh,
        }
    }

    /// The roles `family` uses, in ONNX's order: `[gate, candidate, cell]` for the LSTM,
    /// `[gate, candidate]` for the GRU, `[candidate]` for the RNN.
    pub fn used(&self, family: Family) -> Vec<Activation> {
        match family {
            Family::Lstm => vec![self.gate, self.candidate, self.cell],
            Family::Gru => vec![self.gate, self.candidate],
            Family::Rnn => vec![self.candidate],
        }
    }

    /// The activations of `family` from its used roles in ONNX's order (see [`Activations::used`]);
    /// `None` if `used` has the wrong length.
    pub fn from_used(family: Family, used: &[Activation]) -> Option<Self> {
        let base = Self::pytorch(family, Nonlinearity::Tanh);
        match (family, used) {
            (Family::Lstm, &[gate, candidate, cell]) => Some(Self {
                gate,
                candidate,
                cell,
            }),
            (Family::Gru, &[gate, candidate]) => Some(Self {
                gate,
                candidate,
                ..base
            }),
            (Family::Rnn, &[candidate]) => Some(Self { candidate, ..base }),
            _ => None,
        }
    }
}

/// `(Sigmoid, Tanh, Tanh)`: the roles the family uses would be clearer, but the struct does not
/// know its family; [`crate::RnnConfig`]'s repr prints the used ones.
impl fmt::Display for Activations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}, {})", self.gate, self.candidate, self.cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_follow_onnxruntime() {
        let x = [-3.0, -0.5, 0.0, 0.25, 2.0];
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        for &v in &x {
            let leaky = Activation::LeakyRelu { alpha: 0.25 }.apply(v);
            assert!(close(leaky, if v >= 0.0 { v } else { 0.25 * v }));
            let hard = Activation::HardSigmoid {
                alpha: 0.5,
                beta: 0.25,
            }
            .apply(v);
            assert!(close(hard, (0.5 * v + 0.25).clamp(0.0, 1.0)));
            let elu = Activation::Elu { alpha: 1.5 }.apply(v);
            assert!(close(elu, if v >= 0.0 { v } else { 1.5 * (v.exp() - 1.0) }));
            assert!(close(Activation::Softplus.apply(v), (1.0 + v.exp()).ln()));
            assert!(close(Activation::Softsign.apply(v), v / (1.0 + v.abs())));
            let scaled = Activation::ScaledTanh {
                alpha: 2.0,
                beta: 0.5,
            };
            assert!(close(scaled.apply(v), 2.0 * (0.5 * v).tanh()));
            let affine = Activation::Affine {
                alpha: -2.0,
                beta: 0.5,
            };
            assert!(close(affine.apply(v), -2.0 * v + 0.5));
        }
        // onnxruntime's ThresholdedRelu is strict.
        let t = Activation::ThresholdedRelu { alpha: 0.25 };
        assert_eq!(t.apply(0.25), 0.0);
        assert_eq!(t.apply(0.5), 0.5);
        // Softplus does not overflow where ln(1 + e^x) would.
        assert_eq!(Activation::Softplus.apply(1000.0), 1000.0);
        assert!(Activation::Relu.apply(f64::NAN).is_nan());
        assert!(t.apply(f64::NAN).is_nan());
    }

    #[test]
    fn roles_round_trip_per_family() {
        let odd = [
            Activation::Elu { alpha: 0.5 },
            Activation::Softsign,
            Activation::Affine {
                alpha: 1.0,
                beta: 0.5,
            },
        ];
        for family in [Family::Lstm, Family::Gru, Family::Rnn] {
            let n = family_roles(family);
            let acts = Activations::from_used(family, &odd[..n]).unwrap();
            assert_eq!(acts.used(family), odd[..n].to_vec());
            assert!(Activations::from_used(family, &odd[..n - 1]).is_none());
        }
        assert_eq!(
            Activations::pytorch(Family::Rnn, Nonlinearity::Relu).used(Family::Rnn),
            vec![Activation::Relu]
        );
    }

    fn family_roles(family: Family) -> usize {
        match family {
            Family::Lstm => 3,
            Family::Gru => 2,
            Family::Rnn => 1,
        }
    }
}
