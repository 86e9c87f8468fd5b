//! Optimizer trajectories on the GPU against PyTorch (float64): 20 training steps (training
//! forward, MSE loss and its gradient, backward, clip_grad_norm_, SGD / Adam / AdamW step, one
//! submit each) from the same start on the same batches, on every backend under test: every
//! parameter within 1e-5 of PyTorch's after the first and the last step, every loss within 1e-5.

mod common;
#[path = "common/gpu.rs"]
mod gpu;

use common::fixtures;
use common::outputs::{Tally, check_trajectory};
use wgpu_rnn::{ForwardInput, GpuTrainer, Model};

const TOLERANCE: f64 = 1e-5;

#[test]
fn gpu_training_follows_every_pytorch_trajectory() {
    let cases = fixtures::train_cases();
    assert!(cases.len() >= 7);
    for backend in gpu::backends() {
        let mut tally = Tally::new(TOLERANCE);
        for case in &cases {
            let fail =
                |e: wgpu_rnn::Error| -> ! { panic!("{} on {}: {e}", case.name, backend.name) };
            let model = Model::load(&case.model).unwrap_or_else(|e| fail(e));
            let trainer =
                GpuTrainer::new(&model, backend.context.clone()).unwrap_or_else(|e| fail(e));
            trainer
                .set_optimizer(case.optimizer, case.clip)
                .unwrap_or_else(|e| fail(e));
            let mut losses = Vec::new();
            let mut first = None;
            for batch in &case.batches {
                let mut args = ForwardInput::new(&batch.input);
                if let Some(lengths) = &batch.lengths {
                    args = args.with_lengths(lengths);
                }
                losses.push(
                    trainer
                        .train_step(&args, &batch.target)
                        .unwrap_or_else(|e| fail(e)),
                );
                if first.is_none() {
                    first = Some(trainer.model().unwrap_or_else(|e| fail(e)));
                }
            }
            let (steps, _) = trainer.optimizer_state().unwrap_or_else(|e| fail(e));
            assert_eq!(steps, 20, "{}", case.name);
            let last = trainer.model().unwrap_or_else(|e| fail(e));
            check_trajectory(&mut tally, case, &losses, first.as_ref().unwrap(), &last);
        }
        tally.finish(&format!(
            "{}: {} PyTorch trajectories",
            backend.name,
            cases.len()
        ));
    }
}
