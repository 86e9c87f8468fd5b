//! The CPU reference against every PyTorch fixture: error ≤ 1e-6 relative to max(1, |expected|).

mod common;

use common::fixtures;
use wgpu_rnn::{InputFile, Model};

const TOLERANCE: f64 = 1e-6;

#[test]
fn cpu_reference_matches_every_pytorch_fixture() {
    let cases = fixtures::all();
    assert!(cases.len() >= 80, "only {} fixtures found", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let model = Model::load(&case.model).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let input = InputFile::load(&case.input).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let out = model
            .forward_reference(&input.as_forward())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let expected = fixtures::expected(&case.expected);
        assert_eq!(
            out.c_n.is_some(),
            expected.iter().any(|(n, _)| n == "c_n"),
            "{}: c_n presence",
            case.name
        );
        for (name, want) in &expected {
            let got = fixtures::result_tensor(&out, name);
            match fixtures::max_rel_err(got.shape(), got.data(), want) {
                Ok(err) if err <= TOLERANCE => {}
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
    eprintln!(
        "{} PyTorch fixtures match within {TOLERANCE:e}",
        cases.len()
    );
}

/// Loading a model and saving it again reproduces the same model, config and all.
#[test]
fn every_fixture_model_round_trips_through_save() {
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for case in fixtures::all() {
        let model = Model::load(&case.model).unwrap();
        let path = dir.join(format!("{}.safetensors", case.name));
        model.save(&path).unwrap();
        let again = Model::load(&path).unwrap();
        assert_eq!(model, again, "{}", case.name);
        assert_eq!(model.config(), again.config(), "{}", case.name);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
