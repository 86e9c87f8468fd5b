//! Optimizer trajectories against PyTorch (float64): 20 steps of SGD (momentum, dampening,
//! Nesterov, weight decay), Adam and AdamW, some with clip_grad_norm_, from the same start on the
//! same batches, with the reference backward and the reference optimizer: every parameter within
//! 1e-6 of PyTorch's after the first and the last step, every step's loss within 1e-6.

mod common;

use common::fixtures::{self, TrainFixture};
use common::outputs::{Tally, check_trajectory};
use wgpu_rnn::optim::clip_grad_norm;
use wgpu_rnn::{ForwardInput, Model, OutputGrads, ReferenceOptimizer};

const TOLERANCE: f64 = 1e-6;

/// Trains `case` on the reference and returns each step's loss and the parameters after the
/// first and the last step.
fn train_on_reference(case: &TrainFixture) -> (Vec<f64>, Model, Model) {
    let mut model = Model::load(&case.model).unwrap();
    let mut opt = ReferenceOptimizer::new(case.optimizer).unwrap();
    let mut losses = Vec::new();
    let mut after_first = None;
    for batch in &case.batches {
        let mut args = ForwardInput::new(&batch.input);
        if let Some(lengths) = &batch.lengths {
            args = args.with_lengths(lengths);
        }
        let out = model.forward_reference(&args).unwrap();
        let (loss, grad_output) = wgpu_rnn::loss::mse_loss(&out.output, &batch.target).unwrap();
        let (_, mut grads) = model
            .backward_reference(&args, &OutputGrads::new(&grad_output))
            .unwrap();
        if let Some(max_norm) = case.clip {
            clip_grad_norm(&mut grads, max_norm);
        }
        opt.step(&mut model, &grads);
        losses.push(loss);
        after_first.get_or_insert_with(|| model.clone());
    }
    (losses, after_first.unwrap(), model)
}

#[test]
fn reference_training_follows_every_pytorch_trajectory() {
    let cases = fixtures::train_cases();
    assert!(cases.len() >= 7, "only {} trajectories", cases.len());
    let mut tally = Tally::new(TOLERANCE);
    for case in &cases {
        let (losses, first, last) = train_on_reference(case);
        assert_eq!(losses.len(), 20, "{}", case.name);
        check_trajectory(&mut tally, case, &losses, &first, &last);
    }
    tally.finish(&format!(
        "{} PyTorch trajectories on the reference",
        cases.len()
    ));
}
