//! The CPU reference's semantics beyond PyTorch's, checked by relations that hold whatever the
//! weights (onnxruntime's numbers are checked by the ONNX fixtures): a reverse-only module is a
//! bidirectional module's reverse half, ONNX's length rule pads to T and zeroes empty rows, a
//! huge clip is no clip, and single steps match the equations written out here.

use rand::{Rng, SeedableRng};
use wgpu_rnn::{
    Activation, Activations, ForwardInput, LengthRule, Model, ModuleKind, RnnConfig, Tensor,
};

fn random(rng: &mut impl Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape, (0..n).map(|_| rng.random_range(-2.0..2.0)).collect()).unwrap()
}

/// `model` with every parameter drawn from U(-1.5, 1.5): large enough to saturate gates.
fn saturating(config: RnnConfig, rng: &mut impl Rng) -> Model {
    let tensors = config
        .parameter_specs()
        .into_iter()
        .map(|(name, shape)| (name, random(rng, &shape)))
        .map(|(n, t)| {
            let data = t.data().iter().map(|v| v * 0.75).collect();
            (n, Tensor::new(t.shape(), data).unwrap())
        })
        .collect();
    Model::from_state_dict(config, tensors).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn reverse_only_is_the_reverse_half_of_bidirectional() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for kind in [ModuleKind::Rnn, ModuleKind::Lstm, ModuleKind::Gru] {
        let bi = saturating(
            RnnConfig::new(kind, 3, 5)
                .with_bidirectional(true)
                .with_reset_after(kind != ModuleKind::Gru),
            &mut rng,
        );
        let config = RnnConfig::new(kind, 3, 5)
            .with_reverse(true)
            .with_reset_after(kind != ModuleKind::Gru);
        let dict = bi
            .state_dict()
            .into_iter()
            .filter(|(n, _)| n.ends_with("_reverse"))
            .map(|(n, t)| (n.trim_end_matches("_reverse").to_string(), t.clone()))
            .collect();
        let rev = Model::from_state_dict(config, dict).unwrap();
        let (t, n) = (6, 3);
        let x = random(&mut rng, &[t, n, 3]);
        let lengths = [6, 2, 4];
        let a = bi
            .forward_reference(&ForwardInput::new(&x).with_lengths(&lengths))
            .unwrap();
        let b = rev
            .forward_reference(&ForwardInput::new(&x).with_lengths(&lengths))
            .unwrap();
        for step in 0..t {
            for row in 0..n {
                let half = &a.output.data()[(step * n + row) * 10 + 5..][..5];
                assert_eq!(half, &b.output.data()[(step * n + row) * 5..][..5]);
            }
        }
        assert_eq!(&a.h_n.data()[n * 5..], b.h_n.data());
        if let (Some(ca), Some(cb)) = (&a.c_n, &b.c_n) {
            assert_eq!(&ca.data()[n * 5..], cb.data());
        }
    }
}

#[test]
fn padded_lengths_keep_t_steps_and_zero_empty_rows() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    for kind in [ModuleKind::Rnn, ModuleKind::Lstm, ModuleKind::Gru] {
        let packed = saturating(
            RnnConfig::new(kind, 4, 3)
                .with_bidirectional(true)
                .with_num_layers(2),
            &mut rng,
        );
        let mut config = packed.config().clone();
        config.lengths = LengthRule::Padded;
        let dict = packed
            .state_dict()
            .into_iter()
            .map(|(n, t)| (n, t.clone()))
            .collect();
        let padded = Model::from_state_dict(config, dict).unwrap();
        let (t, n, w) = (5, 3, 6);
        let x = random(&mut rng, &[t, n, 4]);
        let h0 = random(&mut rng, &[4, n, 3]);
        let c0 = random(&mut rng, &[4, n, 3]);
        let mut args = ForwardInput::new(&x).with_h0(&h0);
        if kind == ModuleKind::Lstm {
            args = args.with_c0(&c0);
        }
        assert!(
            packed
                .forward_reference(&args.with_lengths(&[3, 0, 2]))
                .is_err()
        );
        let p = packed
            .forward_reference(&args.with_lengths(&[3, 1, 2]))
            .unwrap();
        let q = padded
            .forward_reference(&args.with_lengths(&[3, 0, 2]))
            .unwrap();
        assert_eq!(p.output.shape(), &[3, n, w]);
        assert_eq!(q.output.shape(), &[t, n, w]);
        for step in 0..t {
            for row in 0..n {
                let got = &q.output.data()[(step * n + row) * w..][..w];
                if row == 1 || step >= 3 {
                    assert!(got.iter().all(|&v| v == 0.0), "step {step} row {row}");
                } else {
                    assert_eq!(got, &p.output.data()[(step * n + row) * w..][..w]);
                }
            }
        }
        let states = [Some((&p.h_n, &q.h_n)), p.c_n.as_ref().zip(q.c_n.as_ref())];
        for (ps, qs) in states.into_iter().flatten() {
            for g in 0..4 {
                for row in 0..n {
                    let got = &qs.data()[(g * n + row) * 3..][..3];
                    if row == 1 {
                        assert_eq!(got, &[0.0; 3]);
                    } else {
                        assert_eq!(got, &ps.data()[(g * n + row) * 3..][..3]);
                    }
                }
            }
        }
    }
}

#[test]
fn a_clip_no_pre_activation_reaches_is_no_clip() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    for kind in [ModuleKind::Rnn, ModuleKind::Lstm, ModuleKind::Gru] {
        let model = saturating(RnnConfig::new(kind, 3, 4), &mut rng);
        let x = random(&mut rng, &[4, 2, 3]);
        let want = model.forward_reference(&ForwardInput::new(&x)).unwrap();
        let dict = |m: &Model| {
            m.state_dict()
                .into_iter()
                .map(|(n, t)| (n, t.clone()))
                .collect()
        };
        for (clip, same) in [(1e4, true), (0.05, false)] {
            let config = model.config().clone().with_clip(Some(clip));
            let clipped = Model::from_state_dict(config, dict(&model)).unwrap();
            let got = clipped.forward_reference(&ForwardInput::new(&x)).unwrap();
            assert_eq!(got == want, same, "{kind} clip {clip}");
        }
    }
}

/// One LSTM step with peepholes, a coupled forget gate, clip and odd activations, written out.
#[test]
fn one_lstm_step_matches_its_equations() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let acts = Activations {
        gate: Activation::HardSigmoid {
            alpha: 0.3,
            beta: 0.45,
        },
        candidate: Activation::ScaledTanh {
            alpha: 1.5,
            beta: 0.7,
        },
        cell: Activation::Softsign,
    };
    for coupled in [false, true] {
        let (i_sz, h) = (3, 4);
        let config = RnnConfig::lstm(i_sz, h)
            .with_peepholes(true)
            .with_coupled_forget(coupled)
            .with_clip(Some(1.25))
            .with_activations(vec![acts]);
        let model = saturating(config, &mut rng);
        let x = random(&mut rng, &[1, 1, i_sz]);
        let h0 = random(&mut rng, &[1, 1, h]);
        let c0 = random(&mut rng, &[1, 1, h]);
        let out = model
            .forward_reference(&ForwardInput::new(&x).with_h0(&h0).with_c0(&c0))
            .unwrap();
        let p = &model.groups()[0];
        let (w, r) = (p.weight_ih.data(), p.weight_hh.data());
        let (bw, br) = (p.bias_ih.as_ref().unwrap(), p.bias_hh.as_ref().unwrap());
        let peep = p.peephole.as_ref().unwrap().data();
        let pre = |row: usize| {
            let mut s = f64::from(bw.data()[row]) + f64::from(br.data()[row]);
            for k in 0..i_sz {
                s += f64::from(w[row * i_sz + k]) * f64::from(x.data()[k]);
            }
            for k in 0..h {
                s += f64::from(r[row * h + k]) * f64::from(h0.data()[k]);
            }
            s
        };
        let clip = |v: f64| v.clamp(-1.25, 1.25);
        for j in 0..h {
            let c_prev = f64::from(c0.data()[j]);
            let i = acts.gate.apply(clip(pre(j) + f64::from(peep[j]) * c_prev));
            let f = if coupled {
                1.0 - i
            } else {
                acts.gate
                    .apply(clip(pre(h + j) + f64::from(peep[h + j]) * c_prev))
            };
            let g = acts.candidate.apply(clip(pre(2 * h + j)));
            let c = f * c_prev + i * g;
            let o = acts
                .gate
                .apply(clip(pre(3 * h + j) + f64::from(peep[2 * h + j]) * c));
            let hj = o * acts.cell.apply(c);
            let (got_h, got_c) = (out.h_n.data()[j], out.c_n.as_ref().unwrap().data()[j]);
            assert!(
                (f64::from(got_h) - hj).abs() < 1e-6,
                "h[{j}] {got_h} vs {hj}"
            );
            assert!((f64::from(got_c) - c).abs() < 1e-6, "c[{j}] {got_c} vs {c}");
        }
    }
}

/// One GRU step with the reset gate applied before the recurrent product (ONNX's default).
#[test]
fn one_gru_step_resets_before_the_product() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let (i_sz, h) = (2, 5);
    let after = saturating(RnnConfig::gru(i_sz, h), &mut rng);
    let dict = after
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.clone()))
        .collect();
    let before =
        Model::from_state_dict(after.config().clone().with_reset_after(false), dict).unwrap();
    let x = random(&mut rng, &[1, 1, i_sz]);
    let h0 = random(&mut rng, &[1, 1, h]);
    let args = ForwardInput::new(&x).with_h0(&h0);
    let (a, b) = (
        after.forward_reference(&args).unwrap(),
        before.forward_reference(&args).unwrap(),
    );
    assert!(max_diff(a.h_n.data(), b.h_n.data()) > 1e-3);
    let p = &after.groups()[0];
    let (w, r) = (p.weight_ih.data(), p.weight_hh.data());
    let (bw, br) = (
        p.bias_ih.as_ref().unwrap().data(),
        p.bias_hh.as_ref().unwrap().data(),
    );
    let hv: Vec<f64> = h0.data().iter().map(|&v| f64::from(v)).collect();
    let wx = |row: usize| {
        (0..i_sz)
            .map(|k| f64::from(w[row * i_sz + k]) * f64::from(x.data()[k]))
            .sum::<f64>()
            + f64::from(bw[row])
    };
    let rh = |row: usize, v: &[f64]| {
        (0..h)
            .map(|k| f64::from(r[row * h + k]) * v[k])
            .sum::<f64>()
            + f64::from(br[row])
    };
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let reset: Vec<f64> = (0..h).map(|j| sigmoid(wx(j) + rh(j, &hv))).collect();
    let reset_h: Vec<f64> = (0..h).map(|j| reset[j] * hv[j]).collect();
    for j in 0..h {
        let z = sigmoid(wx(h + j) + rh(h + j, &hv));
        let n = (wx(2 * h + j) + rh(2 * h + j, &reset_h)).tanh();
        let want = (1.0 - z) * n + z * hv[j];
        let got = f64::from(b.h_n.data()[j]);
        assert!((got - want).abs() < 1e-6, "h[{j}] {got} vs {want}");
    }
}
