//! The GPU path against every PyTorch fixture, on every backend under test (see
//! `tests/common/gpu.rs`): error ≤ 1e-5 relative to max(1, |expected|), NaN where PyTorch has NaN.

mod common;
#[path = "common/gpu.rs"]
mod gpu;

use std::time::Instant;

use common::fixtures;
use wgpu_rnn::{GpuModel, InputFile, Model};

const TOLERANCE: f64 = 1e-5;

#[test]
fn gpu_matches_every_pytorch_fixture() {
    let cases = fixtures::all();
    assert!(cases.len() >= 80, "only {} fixtures found", cases.len());
    for backend in gpu::backends() {
        let start = Instant::now();
        let mut failures = Vec::new();
        let mut worst = 0f64;
        for case in &cases {
            let model = Model::load(&case.model).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let input =
                InputFile::load(&case.input).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let gpu_model = GpuModel::new(&model, backend.context.clone())
                .unwrap_or_else(|e| panic!("{} on {}: {e}", case.name, backend.name));
            let out = match gpu_model.forward(&input.as_forward()) {
                Ok(out) => out,
                Err(e) => {
                    failures.push(format!("{}: {e}", case.name));
                    continue;
                }
            };
            let expected = fixtures::expected(&case.expected);
            if out.c_n.is_some() != expected.iter().any(|(n, _)| n == "c_n") {
                failures.push(format!("{}: c_n presence", case.name));
                continue;
            }
            for (name, want) in &expected {
                let got = fixtures::result_tensor(&out, name);
                match fixtures::max_rel_err(got.shape(), got.data(), want) {
                    Ok(err) if err <= TOLERANCE => worst = worst.max(err),
                    Ok(err) => failures.push(format!("{} {name}: error {err:e}", case.name)),
                    Err(e) => failures.push(format!("{} {name}: {e}", case.name)),
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{}: {} failures:\n{}",
            backend.name,
            failures.len(),
            failures.join("\n")
        );
        gpu::say(&format!(
            "{}: {} PyTorch fixtures match within {TOLERANCE:e} (worst {worst:.2e}) in {:.1?}",
            backend.name,
            cases.len(),
            start.elapsed()
        ));
    }
}
