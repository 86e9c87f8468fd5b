//! The GPU backward against the f64 reference backward on randomized configurations, on every
//! backend under test: kind (all six), input/hidden sizes 1..=300, layers 1..=3, bidirectional,
//! batch_first, bias, relu, proj_size, lengths, unbatched input, batch 1..=40, T 1..=200, given
//! or zero initial states, random output gradients (grad_h_n and grad_c_n present or not). Every
//! result and gradient within 1e-4 relative to max(1, |reference|).
//!
//! Each run draws fresh cases from a clock seed printed on stderr; `WGPU_RNN_SEED=<seed>` replays
//! a run and `WGPU_RNN_GRAD_CASES=<n>` changes the number of cases per backend.

#[path = "common/cases.rs"]
mod cases;
#[path = "common/gpu.rs"]
mod gpu;

use std::time::Instant;

use cases::{draw, tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgpu_rnn::{ForwardOutput, GpuTrainer, Gradients, OutputGrads, Tensor};

const TOLERANCE: f64 = 1e-4;

/// Every tensor of a forward and backward, by name.
fn tensors<'a>(out: &'a ForwardOutput, grads: &'a Gradients) -> Vec<(String, &'a Tensor)> {
    let mut all = vec![
        ("output".to_string(), &out.output),
        ("h_n".into(), &out.h_n),
    ];
    all.extend(out.c_n.as_ref().map(|c| ("c_n".to_string(), c)));
    all.push(("grad_input".into(), &grads.input));
    all.push(("grad_h0".into(), &grads.h0));
    all.extend(grads.c0.as_ref().map(|c| ("grad_c0".to_string(), c)));
    all.extend(
        grads
            .named_parameters()
            .into_iter()
            .map(|(n, t)| (format!("grad_{n}"), t)),
    );
    all
}

fn max_err(got: &[(String, &Tensor)], want: &[(String, &Tensor)]) -> Result<(f64, String), String> {
    if got.len() != want.len() {
        return Err(format!("{} tensors vs {}", got.len(), want.len()));
    }
    let mut worst = (0f64, String::new());
    for ((name, g), (_, w)) in got.iter().zip(want) {
        if g.shape() != w.shape() {
            return Err(format!("{name} shape {:?} vs {:?}", g.shape(), w.shape()));
        }
        for (&a, &b) in g.data().iter().zip(w.data()) {
            let err = (a as f64 - b as f64).abs() / (b as f64).abs().max(1.0);
            if err > worst.0 || err.is_nan() {
                worst = (err, name.clone());
            }
        }
    }
    Ok(worst)
}

#[test]
fn random_configurations_match_the_reference_backward() {
    let cases: usize = std::env::var("WGPU_RNN_GRAD_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let seed = gpu::seed();
    gpu::say(&format!(
        "gradient properties: {cases} cases, replay with WGPU_RNN_SEED={seed}"
    ));
    for backend in gpu::backends() {
        let start = Instant::now();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut failures = Vec::new();
        let mut worst = (0f64, String::new());
        for index in 0..cases {
            // The reference backward costs about three forwards.
            let case = draw(&mut rng, cases::WORK_BUDGET / 4);
            let args = case.args();
            let forward = case.model.forward_reference(&args).unwrap();
            let g_out = tensor(&mut rng, forward.output.shape().to_vec(), 1.0);
            let g_h = rng
                .random_bool(0.6)
                .then(|| tensor(&mut rng, forward.h_n.shape().to_vec(), 1.0));
            let g_c = forward
                .c_n
                .as_ref()
                .filter(|_| rng.random_bool(0.6))
                .map(|c| tensor(&mut rng, c.shape().to_vec(), 1.0));
            let grads = OutputGrads {
                grad_output: Some(&g_out),
                grad_h_n: g_h.as_ref(),
                grad_c_n: g_c.as_ref(),
            };
            let (want_out, want) = case.model.backward_reference(&args, &grads).unwrap();
            let trainer = GpuTrainer::new(&case.model, backend.context.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", case.describe()));
            let result = trainer
                .forward_backward(&args, &grads)
                .map_err(|e| e.to_string())
                .and_then(|(o, g)| max_err(&tensors(&o, &g), &tensors(&want_out, &want)));
            match result {
                Ok((err, name)) if err <= TOLERANCE => {
                    if err > worst.0 {
                        worst = (err, format!("{name} of {}", case.describe()));
                    }
                }
                Ok((err, name)) => failures.push(format!(
                    "case {index}: {name} error {err:e}: {}",
                    case.describe()
                )),
                Err(e) => failures.push(format!("case {index}: {e}: {}", case.describe())),
            }
        }
        assert!(
            failures.is_empty(),
            "{} (WGPU_RNN_SEED={seed}): {} of {cases} cases failed:\n{}",
            backend.name,
            failures.len(),
            failures.join("\n")
        );
        gpu::say(&format!(
            "gradient properties on {}: {cases} random configurations match the reference backward \
             within {TOLERANCE:e} (worst {:.2e}: {}) in {:.1?}",
            backend.name,
            worst.0,
            worst.1,
            start.elapsed()
        ));
    }
}
