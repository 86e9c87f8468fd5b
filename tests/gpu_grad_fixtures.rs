//! The GPU backward against every PyTorch gradient fixture (torch.autograd in float64), on every
//! backend under test: every output and gradient within 1e-4 relative to max(1, |expected|).

mod common;
#[path = "common/gpu.rs"]
mod gpu;

use std::time::Instant;

use common::fixtures;
use common::outputs::Tally;
use wgpu_rnn::{GpuTrainer, GradFile, InputFile, Model};

const TOLERANCE: f64 = 1e-4;

#[test]
fn gpu_backward_matches_every_pytorch_gradient_fixture() {
    let cases = fixtures::grad_cases();
    assert!(
        cases.len() >= 80,
        "only {} gradient fixtures found",
        cases.len()
    );
    for backend in gpu::backends() {
        let start = Instant::now();
        let mut tally = Tally::new(TOLERANCE);
        for case in &cases {
            let fail =
                |e: wgpu_rnn::Error| -> ! { panic!("{} on {}: {e}", case.name, backend.name) };
            let model = Model::load(&case.model).unwrap_or_else(|e| fail(e));
            let input = InputFile::load(&case.input).unwrap_or_else(|e| fail(e));
            let grads = GradFile::load(&case.grads).unwrap_or_else(|e| fail(e));
            let trainer =
                GpuTrainer::new(&model, backend.context.clone()).unwrap_or_else(|e| fail(e));
            let (out, got) = trainer
                .forward_backward(&input.as_forward(), &grads.as_output_grads())
                .unwrap_or_else(|e| fail(e));
            for (name, want) in &fixtures::expected(&case.expected) {
                let t = fixtures::gradient_tensor(&out, &got, name);
                tally.check(&format!("{} {name}", case.name), t.shape(), t.data(), want);
            }
        }
        tally.finish(&format!(
            "{}: {} PyTorch gradient fixtures in {:.1?}",
            backend.name,
            cases.len(),
            start.elapsed()
        ));
    }
}
