//! The GPU path against the CPU reference on randomized configurations and inputs, on every backend
//! under test (see `tests/common/gpu.rs`): kind (all six), input/hidden sizes 1..=300, layers 1..=3,
//! bidirectional, batch_first, bias, relu, proj_size, lengths, unbatched input, batch 1..=40,
//! T 1..=200, given or zero initial states. Error ≤ 1e-5 relative to max(1, |expected|).
//!
//! Cases cycle through the plans (`PlanChoice::Auto`, `PerStep`, `Sequence`), so every kernel
//! path meets every configuration kind.
//!
//! Each run draws fresh cases from a clock seed printed on stderr; `WGPU_RNN_SEED=<seed>` replays a
//! run and `WGPU_RNN_CASES=<n>` changes the number of cases per test and backend.

#[path = "common/cases.rs"]
mod cases;
#[path = "common/gpu.rs"]
mod gpu;

use std::time::Instant;

use cases::{Case, draw, max_err, tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wgpu_rnn::gpu::kernels::PlanChoice;
use wgpu_rnn::{ForwardOutput, GpuModel};

/// The plans cases cycle through.
const PLANS: [PlanChoice; 3] = [PlanChoice::Auto, PlanChoice::PerStep, PlanChoice::Sequence];

const TOLERANCE: f64 = 1e-5;
fn cases_per_test() -> usize {
    std::env::var("WGPU_RNN_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

fn run(test: &str, base_seed: u64, offset: u64) {
    let backends = gpu::backends();
    let cases = cases_per_test();
    gpu::say(&format!(
        "{test}: {cases} cases, replay with WGPU_RNN_SEED={base_seed}"
    ));
    let seed = base_seed.wrapping_add(offset);
    for backend in backends {
        let start = Instant::now();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut failures = Vec::new();
        let (mut worst, mut worst_case) = (0f64, String::new());
        for index in 0..cases {
            let case = draw(&mut rng, cases::WORK_BUDGET);
            let want = case.model.forward_reference(&case.args()).unwrap();
            let choice = PLANS[index % PLANS.len()];
            let gpu_model = GpuModel::with_plan(&case.model, backend.context.clone(), choice)
                .unwrap_or_else(|e| panic!("{}: {e}", case.describe()));
            let plan = format!("{:?} plan", gpu_model.plan_kind());
            let mut check =
                |label: &str, got: wgpu_rnn::Result<ForwardOutput>, want: &ForwardOutput| match got
                    .map_err(|e| e.to_string())
                    .and_then(|g| max_err(&g, want))
                {
                    Ok(err) if err <= TOLERANCE => {
                        if err > worst {
                            (worst, worst_case) = (err, format!("{plan}, {}", case.describe()));
                        }
                    }
                    Ok(err) => failures.push(format!(
                        "case {index} {label} ({plan}): error {err:e}: {}",
                        case.describe()
                    )),
                    Err(e) => failures.push(format!(
                        "case {index} {label} ({plan}): {e}: {}",
                        case.describe()
                    )),
                };
            check("first call", gpu_model.forward(&case.args()), &want);
            // Every third case calls again with new values of the same shape: the cached buffers
            // must not leak state from the first call.
            if index % 3 == 0 {
                let again = Case {
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
                };
                let want = again.model.forward_reference(&again.args()).unwrap();
                check("second call", gpu_model.forward(&again.args()), &want);
            }
        }
        assert!(
            failures.is_empty(),
            "{test} on {} (WGPU_RNN_SEED={base_seed}): {} of {cases} cases failed:\n{}",
            backend.name,
            failures.len(),
            failures.join("\n")
        );
        gpu::say(&format!(
            "{test} on {}: {cases} random configurations match the CPU reference within {TOLERANCE:e} \
             (worst {worst:.2e}: {worst_case}) in {:.1?}",
            backend.name,
            start.elapsed()
        ));
    }
}

// Two tests so the harness runs them on both cores; each draws its own cases.
#[test]
fn random_configurations_match_the_cpu_reference() {
    run("random_configurations", gpu::seed(), 0);
}

#[test]
fn more_random_configurations_match_the_cpu_reference() {
    run(
        "more_random_configurations",
        gpu::seed(),
        0x9e37_79b9_7f4a_7c15,
    );
}
