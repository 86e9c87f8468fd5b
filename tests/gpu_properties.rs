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

#[path = "common/gpu.rs"]
mod gpu;

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgpu_rnn::gpu::kernels::PlanChoice;
use wgpu_rnn::{
    ForwardInput, ForwardOutput, GpuModel, Model, ModuleKind, Nonlinearity, RnnConfig, Tensor,
};

/// The plans cases cycle through.
const PLANS: [PlanChoice; 3] = [PlanChoice::Auto, PlanChoice::PerStep, PlanChoice::Sequence];

const TOLERANCE: f64 = 1e-5;
/// Multiply-adds of the CPU reference per case, at most (keeps each case to a few milliseconds).
const WORK_BUDGET: usize = 20_000_000;

fn cases_per_test() -> usize {
    std::env::var("WGPU_RNN_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

/// A random case: the model and the call's tensors.
struct Case {
    model: Model,
    input: Tensor,
    h0: Option<Tensor>,
    c0: Option<Tensor>,
    lengths: Option<Vec<usize>>,
}

impl Case {
    fn args(&self) -> ForwardInput<'_> {
        ForwardInput {
            input: &self.input,
            h0: self.h0.as_ref(),
            c0: self.c0.as_ref(),
            lengths: self.lengths.as_deref(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} input {:?} h0 {} c0 {} lengths {:?}",
            self.model.config(),
            self.input.shape(),
            self.h0.is_some(),
            self.c0.is_some(),
            self.lengths
        )
    }
}

fn tensor(rng: &mut StdRng, shape: Vec<usize>, scale: f32) -> Tensor {
    let n = shape.iter().product();
    let data = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Tensor::new(shape, data).unwrap()
}

/// Draws a size in 1..=300, mostly small, sometimes large.
fn size(rng: &mut StdRng) -> usize {
    match rng.random_range(0..10) {
        0..=4 => rng.random_range(1..=16),
        5..=7 => rng.random_range(1..=80),
        _ => rng.random_range(1..=300),
    }
}

fn draw(rng: &mut StdRng) -> Case {
    let kind = ModuleKind::ALL[rng.random_range(0..6)];
    let (i, h) = (size(rng), size(rng));
    let mut config = RnnConfig::new(kind, i, h).with_bias(rng.random_bool(0.8));
    if kind.family() == wgpu_rnn::Family::Rnn && rng.random_bool(0.5) {
        config = config.with_nonlinearity(Nonlinearity::Relu);
    }
    if !kind.is_cell() {
        config = config
            .with_num_layers(rng.random_range(1..=3))
            .with_bidirectional(rng.random_bool(0.5))
            .with_batch_first(rng.random_bool(0.3));
        if kind == ModuleKind::Lstm && h > 1 && rng.random_bool(0.4) {
            config = config.with_proj_size(rng.random_range(1..h));
        }
    }
    let model = Model::new(config.clone(), rng).unwrap();

    let (mut t, mut n) = if kind.is_cell() {
        (1, rng.random_range(1..=40))
    } else {
        (rng.random_range(1..=200), rng.random_range(1..=40))
    };
    // Keep the reference's work in budget: big models get short, narrow calls.
    let per_row_step = config.gate_count()
        * h
        * (i.max(config.num_directions() * config.output_hidden()) + config.output_hidden())
        * config.num_layers
        * config.num_directions();
    while t * n * per_row_step > WORK_BUDGET && t * n > 1 {
        if t >= n {
            t = t.div_ceil(2)
        } else {
            n = n.div_ceil(2)
        }
    }
    let unbatched = rng.random_bool(0.2);
    let n = if unbatched { 1 } else { n };
    let input_shape = match (kind.is_cell(), unbatched, config.batch_first) {
        (true, true, _) => vec![i],
        (true, false, _) => vec![n, i],
        (false, true, _) => vec![t, i],
        (false, false, false) => vec![t, n, i],
        (false, false, true) => vec![n, t, i],
    };
    let input = tensor(rng, input_shape, 2.0);
    let state = |width: usize| match (kind.is_cell(), unbatched) {
        (true, true) => vec![width],
        (true, false) => vec![n, width],
        (false, true) => vec![config.num_groups(), width],
        (false, false) => vec![config.num_groups(), n, width],
    };
    // An LSTM takes (h0, c0) together or neither, as PyTorch does.
    let with_state = rng.random_bool(0.5);
    let h0 = with_state.then(|| tensor(rng, state(config.output_hidden()), 1.0));
    let c0 =
        (with_state && kind.family() == wgpu_rnn::Family::Lstm).then(|| tensor(rng, state(h), 1.0));
    let lengths = (!kind.is_cell() && !unbatched && rng.random_bool(0.5))
        .then(|| (0..n).map(|_| rng.random_range(1..=t)).collect());
    Case {
        model,
        input,
        h0,
        c0,
        lengths,
    }
}

fn max_err(got: &ForwardOutput, want: &ForwardOutput) -> Result<f64, String> {
    let pairs = [
        ("output", Some(&got.output), Some(&want.output)),
        ("h_n", Some(&got.h_n), Some(&want.h_n)),
        ("c_n", got.c_n.as_ref(), want.c_n.as_ref()),
    ];
    let mut worst = 0f64;
    for (name, g, w) in pairs {
        match (g, w) {
            (None, None) => {}
            (Some(g), Some(w)) => {
                if g.shape() != w.shape() {
                    return Err(format!("{name} shape {:?} vs {:?}", g.shape(), w.shape()));
                }
                for (k, (&a, &b)) in g.data().iter().zip(w.data()).enumerate() {
                    if a.is_nan() != b.is_nan() {
                        return Err(format!("{name}[{k}]: {a} vs {b}"));
                    }
                    let err = (a as f64 - b as f64).abs() / (b as f64).abs().max(1.0);
                    if err > worst {
                        worst = err;
                    }
                }
            }
            _ => return Err(format!("{name} present on one side only")),
        }
    }
    Ok(worst)
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
            let case = draw(&mut rng);
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
