//! The fast f32 CPU path (`CpuModel`) against PyTorch's fixtures and the f64 reference, on every
//! fixture and on fresh random configurations (all six kinds and every option, sizes no multiple
//! of any tile): error ≤ 1e-5 relative to max(1, |expected|), NaN where NaN is expected, and the
//! reference's errors for invalid calls.
//!
//! Each run draws fresh cases from a clock seed printed on stderr; `WGPU_RNN_SEED=<seed>` replays a
//! run and `WGPU_RNN_CASES=<n>` changes the number of cases per test.

#[path = "common/cases.rs"]
mod cases;
mod common;
#[path = "common/gpu.rs"]
mod gpu;

use cases::{Case, draw, max_err, tensor};
use common::fixtures;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wgpu_rnn::{CpuModel, ForwardInput, InputFile, Model, RnnConfig, Tensor};

const TOLERANCE: f64 = 1e-5;

#[test]
fn fast_cpu_matches_every_pytorch_fixture_and_the_reference() {
    let cases = fixtures::all();
    assert!(cases.len() >= 80, "only {} fixtures found", cases.len());
    let (mut failures, mut worst) = (Vec::new(), (0f64, String::new()));
    for case in &cases {
        let model = Model::load(&case.model).unwrap();
        let input = InputFile::load(&case.input).unwrap();
        let out = CpuModel::new(&model)
            .forward(&input.as_forward())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let reference = model.forward_reference(&input.as_forward()).unwrap();
        match max_err(&out, &reference) {
            Ok(err) if err <= TOLERANCE => {}
            Ok(err) => failures.push(format!("{} vs reference: error {err:e}", case.name)),
            Err(e) => failures.push(format!("{} vs reference: {e}", case.name)),
        }
        let expected = fixtures::expected(&case.expected);
        assert_eq!(
            out.c_n.is_some(),
            expected.iter().any(|(n, _)| n == "c_n"),
            "{}",
            case.name
        );
        for (name, want) in &expected {
            let got = fixtures::result_tensor(&out, name);
            match fixtures::max_rel_err(got.shape(), got.data(), want) {
                Ok(err) if err <= TOLERANCE => {
                    if err > worst.0 {
                        worst = (err, format!("{} {name}", case.name));
                    }
                }
                Ok(err) => failures.push(format!("{} {name}: error {err:e}", case.name)),
                Err(e) => failures.push(format!("{} {name}: {e}", case.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    gpu::say(&format!(
        "fast CPU: {} PyTorch fixtures match within {TOLERANCE:e} (worst {:.2e}: {})",
        cases.len(),
        worst.0,
        worst.1
    ));
}

fn cases_per_test() -> usize {
    std::env::var("WGPU_RNN_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

fn run(test: &str, base_seed: u64, offset: u64) {
    let count = cases_per_test();
    gpu::say(&format!(
        "{test}: {count} cases, replay with WGPU_RNN_SEED={base_seed}"
    ));
    let mut rng = StdRng::seed_from_u64(base_seed.wrapping_add(offset));
    let (mut failures, mut worst) = (Vec::new(), (0f64, String::new()));
    for index in 0..count {
        let case = draw(&mut rng, cases::WORK_BUDGET);
        let fast = CpuModel::new(&case.model);
        // Every other case calls twice with new values of the same shape: nothing may carry over.
        let again = (index % 2 == 0).then(|| Case {
            input: tensor(&mut rng, case.input.shape().to_vec(), 2.0),
            h0: case
                .h0
                .as_ref()
                .map(|t| tensor(&mut rng, t.shape().to_vec(), 1.0)),
            c0: case
                .c0
                .as_ref()
                .map(|t| tensor(&mut rng, t.shape().to_vec(), 1.0)),
            lengths: case.lengths.clone(),
            model: case.model.clone(),
        });
        for (label, c) in [("first call", Some(&case)), ("second call", again.as_ref())] {
            let Some(c) = c else { continue };
            let want = c.model.forward_reference(&c.args()).unwrap();
            match fast
                .forward(&c.args())
                .map_err(|e| e.to_string())
                .and_then(|g| max_err(&g, &want))
            {
                Ok(err) if err <= TOLERANCE => {
                    if err > worst.0 {
                        worst = (err, c.describe());
                    }
                }
                Ok(err) => failures.push(format!(
                    "case {index} {label}: error {err:e}: {}",
                    c.describe()
                )),
                Err(e) => failures.push(format!("case {index} {label}: {e}: {}", c.describe())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{test} (WGPU_RNN_SEED={base_seed}): {} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    gpu::say(&format!(
        "{test}: {count} random configurations match the reference within {TOLERANCE:e} (worst {:.2e}: {})",
        worst.0, worst.1
    ));
}

// Two tests so the harness runs them on both cores; each draws its own cases.
#[test]
fn random_configurations_match_the_reference() {
    run("fast CPU random_configurations", gpu::seed(), 0);
}

#[test]
fn more_random_configurations_match_the_reference() {
    run(
        "fast CPU more_random_configurations",
        gpu::seed(),
        0x9e37_79b9_7f4a_7c15,
    );
}

/// Large batches (several units per direction), long sequences and wide layers, beyond the
/// random cases' budget: LSTM with a projection, bidirectional GRU with lengths, relu RNN.
#[test]
fn wide_and_long_calls_match_the_reference() {
    let mut rng = StdRng::seed_from_u64(gpu::seed());
    let configs = [
        RnnConfig::lstm(37, 129)
            .with_proj_size(61)
            .with_num_layers(2),
        RnnConfig::gru(53, 97)
            .with_bidirectional(true)
            .with_batch_first(true),
        RnnConfig::rnn(29, 211).with_nonlinearity(wgpu_rnn::Nonlinearity::Relu),
    ];
    for config in configs {
        let model = Model::new(config.clone(), &mut rng).unwrap();
        let (t, n) = (67, 45);
        let shape = if config.batch_first {
            [n, t, config.input_size]
        } else {
            [t, n, config.input_size]
        };
        let x = tensor(&mut rng, shape.to_vec(), 2.0);
        let lengths: Vec<usize> = (0..n).map(|r| 1 + (r * 37) % t).collect();
        let args = ForwardInput::new(&x).with_lengths(&lengths);
        let got = CpuModel::new(&model).forward(&args).unwrap();
        let want = model.forward_reference(&args).unwrap();
        let err = max_err(&got, &want).unwrap();
        assert!(err <= TOLERANCE, "{config}: error {err:e}");
    }
}

/// Invalid calls get the reference's errors, word for word.
#[test]
fn invalid_calls_get_the_reference_errors() {
    let mut rng = StdRng::seed_from_u64(2);
    let model = Model::new(RnnConfig::gru(4, 6).with_num_layers(2), &mut rng).unwrap();
    let cell = Model::new(RnnConfig::lstm_cell(4, 6), &mut rng).unwrap();
    let x = tensor(&mut rng, vec![5, 2, 4], 1.0);
    let wide = tensor(&mut rng, vec![5, 2, 3], 1.0);
    let h0_bad = tensor(&mut rng, vec![1, 2, 6], 1.0);
    let c0 = tensor(&mut rng, vec![2, 2, 6], 1.0);
    let cell_x = tensor(&mut rng, vec![2, 4], 1.0);
    let empty = Tensor::new([0, 2, 4], vec![]).unwrap();
    let cases: Vec<(&Model, ForwardInput<'_>)> = vec![
        (&model, ForwardInput::new(&wide)),
        (&model, ForwardInput::new(&empty)),
        (&model, ForwardInput::new(&x).with_h0(&h0_bad)),
        (&model, ForwardInput::new(&x).with_c0(&c0)),
        (&model, ForwardInput::new(&x).with_lengths(&[5, 6])),
        (&model, ForwardInput::new(&x).with_lengths(&[0, 3])),
        (&model, ForwardInput::new(&x).with_lengths(&[5])),
        (&cell, ForwardInput::new(&cell_x).with_lengths(&[1, 1])),
        (&cell, ForwardInput::new(&x)),
    ];
    for (m, args) in &cases {
        let want = m.forward_reference(args).unwrap_err().to_string();
        let got = CpuModel::new(m).forward(args).unwrap_err().to_string();
        assert_eq!(got, want);
    }
}
