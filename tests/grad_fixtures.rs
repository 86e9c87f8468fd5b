//! The reference backward against every PyTorch gradient fixture (torch.autograd in float64):
//! error ≤ 1e-6 relative to max(1, |expected|), for every kind and option.

mod common;

use common::fixtures;
use common::outputs::Tally;
use wgpu_rnn::{GradFile, InputFile, Model};

const TOLERANCE: f64 = 1e-6;

#[test]
fn reference_backward_matches_every_pytorch_gradient_fixture() {
    let cases = fixtures::grad_cases();
    assert!(
        cases.len() >= 80,
        "only {} gradient fixtures found",
        cases.len()
    );
    let mut tally = Tally::new(TOLERANCE);
    for case in &cases {
        let fail = |e: wgpu_rnn::Error| -> ! { panic!("{}: {e}", case.name) };
        let model = Model::load(&case.model).unwrap_or_else(|e| fail(e));
        let input = InputFile::load(&case.input).unwrap_or_else(|e| fail(e));
        let grads = GradFile::load(&case.grads).unwrap_or_else(|e| fail(e));
        let (out, got) = model
            .backward_reference(&input.as_forward(), &grads.as_output_grads())
            .unwrap_or_else(|e| fail(e));
        let expected = fixtures::expected(&case.expected);
        let produced = 4 + out.c_n.is_some() as usize * 2 + got.named_parameters().len();
        assert_eq!(produced, expected.len(), "{}: tensor count", case.name);
        for (name, want) in &expected {
            let t = fixtures::gradient_tensor(&out, &got, name);
            tally.check(&format!("{} {name}", case.name), t.shape(), t.data(), want);
        }
    }
    tally.finish(&format!("{} PyTorch gradient fixtures", cases.len()));
}
