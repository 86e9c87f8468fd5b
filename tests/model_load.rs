//! Loading model files as a newcomer has them: every default assumed for a file without metadata
//! is reported (library and CLI), a whole model's checkpoint loads with a key prefix, a missing
//! tensor names its prefixed twin, and a PyTorch `.pt` file is recognised as one.
//!
//! `tests/fixtures/export/` is written by `scripts/make_export_fixtures.py` (PyTorch, by hand).

mod common;

use std::path::{Path, PathBuf};

use common::fixtures;
use wgpu_rnn::{Error, InputFile, LoadOptions, Model};

fn export(name: &str) -> PathBuf {
    fixtures::dir().join("export").join(name)
}

fn notice(path: &Path, options: &LoadOptions) -> Option<String> {
    Model::load_with(path, options).unwrap().1.notice()
}

#[test]
fn every_default_a_file_without_metadata_left_open_is_reported() {
    let nometa = |name: &str| fixtures::dir().join(format!("{name}_nometa.model.safetensors"));
    let none = LoadOptions::default();
    assert_eq!(
        notice(&nometa("rnn"), &none).as_deref(),
        Some("nonlinearity=tanh, batch_first=false assumed: the file has no metadata")
    );
    for kind in ["lstm", "gru", "lstm_proj"] {
        assert_eq!(
            notice(&nometa(kind), &none).as_deref(),
            Some("batch_first=false assumed: the file has no metadata"),
            "{kind}"
        );
    }
    // A cell has no batch_first, and an LSTMCell no nonlinearity: nothing is assumed.
    assert_eq!(notice(&nometa("lstmcell"), &none), None);
    // Full metadata: nothing assumed, for every fixture written by export_model.py.
    for case in fixtures::all()
        .iter()
        .filter(|c| !c.name.ends_with("_nometa"))
    {
        let (_, report) = Model::load_with(&case.model, &none).unwrap();
        assert!(report.assumed.is_empty(), "{}: {report:?}", case.name);
        assert!(report.has_metadata, "{}", case.name);
    }
}

#[test]
fn partial_metadata_reports_what_it_does_not_say() {
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-load-partial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    let bytes = std::fs::read(fixtures::dir().join("rnn_nometa.model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let meta = [("nonlinearity".to_string(), "relu".to_string())].into();
    std::fs::write(
        &path,
        safetensors::serialize(file.iter(), Some(meta)).unwrap(),
    )
    .unwrap();
    let (model, report) = Model::load_with(&path, &LoadOptions::default()).unwrap();
    assert_eq!(model.config().nonlinearity.name(), "relu");
    assert_eq!(
        report.notice().as_deref(),
        Some("batch_first=false assumed: the file's metadata does not say")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cli_prints_the_notice_on_stderr() {
    let case = fixtures::named("rnn_nometa");
    let dir = common::outputs::tempdir("load-notice");
    let out = common::cli::run(
        &[],
        &case.model,
        &case.input,
        &dir.join("o.safetensors"),
        "cpu",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with("wgpu-rnn: notice: ")
            && first.contains("rnn_nometa.model.safetensors")
            && first
                .contains("nonlinearity=tanh, batch_first=false assumed: the file has no metadata"),
        "{stderr:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_whole_models_checkpoint_loads_with_a_prefix_and_a_missing_tensor_names_its_twin() {
    // No prefix: the message says where the tensor is and which prefix to use.
    let err = Model::load(export("net.safetensors")).unwrap_err();
    let message = err.to_string();
    assert!(matches!(&err, Error::MissingTensor { name, .. } if name == "weight_ih_l0"));
    assert!(
        message.contains("'rnn.weight_ih_l0' (prefix 'rnn.')") && message.contains("--prefix rnn."),
        "{message}"
    );
    // The prefix given without its dot, or with it: the same model; the head is ignored.
    let exported = Model::load(export("net_rnn.model.safetensors")).unwrap();
    for prefix in ["rnn", "rnn."] {
        let (model, report) =
            Model::load_with(export("net.safetensors"), &LoadOptions::with_prefix(prefix)).unwrap();
        assert_eq!(model.state_dict(), exported.state_dict(), "{prefix}");
        assert_eq!(report.ignored, ["head.bias", "head.weight"]);
        // The bare state_dict cannot say batch_first=True: reported.
        assert_eq!(
            report.notice().as_deref(),
            Some("batch_first=false assumed: the file has no metadata")
        );
    }
    // A wrong prefix names the right one.
    let err = Model::load_with(
        export("net.safetensors"),
        &LoadOptions::with_prefix("lstm."),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("prefix 'rnn.'"), "{err}");
}

#[test]
fn export_model_py_output_loads_with_its_metadata_and_matches_pytorch() {
    let (model, report) =
        Model::load_with(export("net_rnn.model.safetensors"), &LoadOptions::default()).unwrap();
    assert_eq!(report.notice(), None);
    assert_eq!(
        model.to_string(),
        "LSTM(4, 6, num_layers=2, batch_first=True)"
    );
    let input = InputFile::load(export("net.input.safetensors")).unwrap();
    let out = model.forward_reference(&input.as_forward()).unwrap();
    for (name, want) in fixtures::expected(&export("net.expected.safetensors")) {
        let got = fixtures::result_tensor(&out, &name);
        let err = fixtures::max_rel_err(got.shape(), got.data(), &want).unwrap();
        assert!(err <= 1e-6, "{name}: {err:e}");
    }
}

#[test]
fn a_pytorch_checkpoint_is_recognised_as_one() {
    for name in ["net.pt", "net_legacy.pt"] {
        for result in [
            Model::load(export(name)).map(drop),
            InputFile::load(export(name)).map(drop),
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::PyTorchFile { .. }), "{name}: {err:?}");
            let message = err.to_string();
            assert!(
                message.contains("PyTorch checkpoint") && message.contains("export_model.py"),
                "{message}"
            );
        }
    }
    // Anything else that is not safetensors keeps the parser's reason.
    let err =
        Model::from_safetensors_bytes(b"PK\x03\x04 a zip of something else", "x.zip").unwrap_err();
    assert!(matches!(err, Error::BadFile { .. }), "{err:?}");
}
