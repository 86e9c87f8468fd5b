//! Finite-difference checks of the reference backward on tiny models of every kind and option.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::tensor::Tensor;

/// A tiny call: the model's tensors and the call's (`input`, `h0`, `c0`) in one map, so one
/// element of any of them can be moved.
struct Case {
    config: RnnConfig,
    tensors: HashMap<String, Tensor>,
    lengths: Option<Vec<usize>>,
    /// `grad_output`, `grad_h_n`, `grad_c_n` as given (any may be absent).
    grads: HashMap<&'static str, Tensor>,
}

fn random(rng: &mut StdRng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape, (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()).unwrap()
}

impl Case {
    /// A random call of `config` on an input of shape `x_shape`; `state` gives h0 (and c0).
    fn new(config: RnnConfig, x_shape: &[usize], state: bool, lengths: Option<Vec<usize>>) -> Self {
        let mut rng = StdRng::seed_from_u64(x_shape.iter().product::<usize>() as u64);
        let model = Model::new(config.clone(), &mut rng).unwrap();
        let mut tensors: HashMap<String, Tensor> = model
            .state_dict()
            .into_iter()
            .map(|(n, t)| (n, t.clone()))
            .collect();
        let x = random(&mut rng, x_shape);
        let p = Prepared::new(&config, &ForwardInput::new(&x)).unwrap();
        let shape = p.call_shape().clone();
        if state {
            tensors.insert("h0".into(), random(&mut rng, &shape.h));
            if let Some(c) = &shape.c {
                tensors.insert("c0".into(), random(&mut rng, c));
            }
        }
        let t_out = lengths
            .as_ref()
            .map_or(p.seq_len, |l| *l.iter().max().unwrap());
        let mut grads = HashMap::from([("grad_output", random(&mut rng, &shape.output(t_out)))]);
        grads.insert("grad_h_n", random(&mut rng, &shape.h));
        if let Some(c) = &shape.c {
            grads.insert("grad_c_n", random(&mut rng, c));
        }
        tensors.insert("input".into(), x);
        Self {
            config,
            tensors,
            lengths,
            grads,
        }
    }

    fn model(&self, tensors: &HashMap<String, Tensor>) -> Model {
        let params = self
            .config
            .parameter_specs()
            .into_iter()
            .map(|(n, _)| (n.clone(), tensors[&n].clone()))
            .collect();
        Model::from_state_dict(self.config.clone(), params).unwrap()
    }

    fn args<'a>(&'a self, tensors: &'a HashMap<String, Tensor>) -> ForwardInput<'a> {
        ForwardInput {
            input: &tensors["input"],
            h0: tensors.get("h0"),
            c0: tensors.get("c0"),
            lengths: self.lengths.as_deref(),
        }
    }

    fn output_grads(&self) -> OutputGrads<'_> {
        OutputGrads {
            grad_output: self.grads.get("grad_output"),
            grad_h_n: self.grads.get("grad_h_n"),
            grad_c_n: self.grads.get("grad_c_n"),
        }
    }

    /// `L = Σ output·grad_output + Σ h_n·grad_h_n + Σ c_n·grad_c_n` in f64, time-major.
    fn loss(&self, tensors: &HashMap<String, Tensor>) -> f64 {
        let model = self.model(tensors);
        let p = Prepared::new(&self.config, &self.args(tensors)).unwrap();
        let g = PreparedGrads::new(&self.config, &p, &self.output_grads()).unwrap();
        let (out, h_n, c_n) = reference::forward_prepared(&model, &p);
        let dot = |a: &[f64], b: &[f32]| a.iter().zip(b).map(|(&a, &b)| a * b as f64).sum::<f64>();
        dot(&out, &g.output) + dot(&h_n, &g.h_n) + c_n.map_or(0.0, |c| dot(&c, &g.c_n))
    }

    /// Compares every analytic gradient with a central difference; returns the worst error
    /// relative to max(1, |analytic|).
    fn check(&self) -> f64 {
        let model = self.model(&self.tensors);
        let (_, grads) = backward(&model, &self.args(&self.tensors), &self.output_grads()).unwrap();
        let mut analytic: Vec<(String, &Tensor)> = grads
            .named_parameters()
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect();
        analytic.push(("input".into(), &grads.input));
        analytic.push(("h0".into(), &grads.h0));
        analytic.extend(grads.c0.as_ref().map(|c| ("c0".to_string(), c)));

        let mut tensors = self.tensors.clone();
        // Absent states are zeros: move them as explicit zeros.
        tensors
            .entry("h0".into())
            .or_insert_with(|| Tensor::zeros(grads.h0.shape()));
        if let Some(c0) = &grads.c0 {
            tensors
                .entry("c0".into())
                .or_insert_with(|| Tensor::zeros(c0.shape()));
        }
        let mut worst = 0f64;
        for (name, want) in analytic {
            assert_eq!(tensors[&name].shape(), want.shape(), "{name}");
            for k in 0..want.data().len() {
                let original = tensors[&name].data()[k];
                let mut at = |v: f32| {
                    tensors.get_mut(&name).unwrap().data_mut()[k] = v;
                    self.loss(&tensors)
                };
                let (up, down) = (original + EPS, original - EPS);
                let fd = (at(up) - at(down)) / (up as f64 - down as f64);
                at(original);
                let a = want.data()[k] as f64;
                let err = (fd - a).abs() / a.abs().max(1.0);
                assert!(
                    err < TOLERANCE,
                    "{} {name}[{k}]: analytic {a}, finite difference {fd}",
                    self.config
                );
                worst = worst.max(err);
            }
        }
        worst
    }
}

const EPS: f32 = 1.0 / 4096.0;
const TOLERANCE: f64 = 1e-6;

#[test]
fn every_kind_and_option_matches_finite_differences() {
    use crate::config::ModuleKind;
    let cases = [
        Case::new(RnnConfig::rnn(3, 4), &[4, 2, 3], true, None),
        Case::new(
            RnnConfig::rnn(3, 4).with_nonlinearity(Nonlinearity::Relu),
            &[4, 2, 3],
            true,
            None,
        ),
        Case::new(RnnConfig::lstm(3, 4), &[4, 2, 3], true, None),
        Case::new(RnnConfig::gru(3, 4), &[4, 2, 3], true, None),
        Case::new(
            RnnConfig::lstm(3, 5)
                .with_num_layers(2)
                .with_bidirectional(true)
                .with_proj_size(2)
                .with_batch_first(true),
            &[2, 4, 3],
            true,
            Some(vec![3, 4]),
        ),
        Case::new(
            RnnConfig::gru(2, 3)
                .with_num_layers(2)
                .with_bidirectional(true)
                .with_bias(false),
            &[5, 3, 2],
            false,
            Some(vec![2, 5, 1]),
        ),
        Case::new(
            RnnConfig::rnn(2, 3)
                .with_num_layers(3)
                .with_bidirectional(true),
            &[3, 2],
            true,
            None,
        ),
        Case::new(RnnConfig::lstm(2, 3).with_bias(false), &[3, 2], false, None),
        Case::new(
            RnnConfig::new(ModuleKind::RnnCell, 3, 4),
            &[2, 3],
            true,
            None,
        ),
        Case::new(RnnConfig::new(ModuleKind::LstmCell, 3, 4), &[3], true, None),
        Case::new(
            RnnConfig::new(ModuleKind::GruCell, 3, 4),
            &[2, 3],
            false,
            None,
        ),
    ];
    for case in &cases {
        let worst = case.check();
        eprintln!("{}: worst {worst:.2e}", case.config);
    }
}

/// Padding gets no input gradient, and what `grad_output` holds past a row's length changes
/// nothing: those outputs are constant zeros.
#[test]
fn padding_gets_zero_gradient_and_ignores_grad_output() {
    let mut case = Case::new(
        RnnConfig::lstm(3, 4).with_bidirectional(true),
        &[5, 3, 3],
        true,
        Some(vec![5, 2, 3]),
    );
    let model = case.model(&case.tensors);
    let run = |case: &Case| {
        backward(&model, &case.args(&case.tensors), &case.output_grads())
            .unwrap()
            .1
    };
    let before = run(&case);
    let x = before.input.data();
    for (t, n) in [(2, 1), (3, 1), (4, 1), (3, 2), (4, 2)] {
        assert!(x[(t * 3 + n) * 3..][..3].iter().all(|&v| v == 0.0));
    }
    assert!(x[(4 * 3) * 3..][..3].iter().any(|&v| v != 0.0));
    let g = case.grads.get_mut("grad_output").unwrap();
    g.data_mut()[(4 * 3 + 1) * 8] = 1e6;
    assert_eq!(run(&case), before);
}

/// Wrong shapes and a `grad_c_n` for a model without cell state are refused with the name.
#[test]
fn bad_output_gradients_are_refused() {
    let case = Case::new(RnnConfig::gru(3, 4), &[4, 2, 3], true, None);
    let model = case.model(&case.tensors);
    let args = case.args(&case.tensors);
    let wrong = Tensor::zeros([4, 2, 5]);
    let err = backward(&model, &args, &OutputGrads::new(&wrong)).unwrap_err();
    assert!(err.to_string().contains("grad_output"), "{err}");
    let h = Tensor::zeros([2, 2, 4]);
    let err = backward(&model, &args, &OutputGrads::default().with_grad_h_n(&h)).unwrap_err();
    assert!(err.to_string().contains("grad_h_n"), "{err}");
    let c = Tensor::zeros([1, 2, 4]);
    let err = backward(&model, &args, &OutputGrads::default().with_grad_c_n(&c)).unwrap_err();
    assert!(err.to_string().contains("grad_c_n"), "{err}");
}
