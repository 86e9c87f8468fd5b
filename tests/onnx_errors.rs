//! ONNX models and inputs wgpu-rnn must refuse: a typed error naming the operator, node and
//! position (or the input), one line from the CLI, non-zero exit, no output file.

use std::path::{Path, PathBuf};
use std::process::Command;

use wgpu_rnn::Error;
use wgpu_rnn::Tensor;
use wgpu_rnn::onnx::{IntTensor, OnnxModel, Value};

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/onnx/bad/{name}.onnx"))
}

fn fixture(set: &str, name: &str) -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(set);
    (
        dir.join(format!("{name}.onnx")),
        dir.join(format!("{name}.input.safetensors")),
    )
}

#[test]
fn unsupported_nodes_are_named_with_their_position() {
    let cases = [
        (
            "softmax",
            "Softmax",
            "head",
            1,
            "operator Softmax is not supported",
        ),
        ("direction", "LSTM", "lstm", 0, "direction=\"sideways\""),
        ("layout", "LSTM", "lstm", 0, "layout=2"),
        ("clip", "LSTM", "lstm", 0, "clip=-1"),
        ("activation", "LSTM", "lstm", 0, "activation \"Swish\""),
        ("activation_count", "LSTM", "lstm", 0, "lists 2 functions"),
        (
            "unknown_attribute",
            "LSTM",
            "lstm",
            0,
            "attribute output_sequence",
        ),
        (
            "weights_input",
            "LSTM",
            "lstm",
            0,
            "input W ('W') must be an initializer",
        ),
        ("hidden_size", "LSTM", "lstm", 0, "hidden_size 4"),
    ];
    for (file, want_op, want_node, want_index, want_text) in cases {
        match OnnxModel::load(bad(file)) {
            Err(e @ Error::OnnxNode { .. }) => {
                let Error::OnnxNode {
                    ref op,
                    ref node,
                    index,
                    ref reason,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!(
                    (op.as_str(), node.as_str(), index),
                    (want_op, want_node, want_index)
                );
                assert!(reason.contains(want_text), "{file}: {e}");
                assert!(!e.to_string().contains('\n'), "{file}: {e}");
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    assert!(matches!(
        OnnxModel::load(bad("garbage")),
        Err(Error::BadOnnx { .. })
    ));
    assert!(matches!(
        OnnxModel::from_bytes(&[], "empty.onnx"),
        Err(Error::BadOnnx { .. })
    ));
}

#[test]
fn wrong_inputs_are_named() {
    let (model, input) = fixture("ort", "lstm_00");
    let model = OnnxModel::load(model).unwrap();
    let inputs = model.load_inputs(input).unwrap();
    let names: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["X", "initial_c", "initial_h"]);
    let without = |name: &str| -> Vec<(String, Value)> {
        inputs.iter().filter(|(n, _)| n != name).cloned().collect()
    };
    assert!(matches!(
        model.run_reference(&without("initial_h")),
        Err(Error::MissingTensor { name, .. }) if name == "initial_h"
    ));
    let mut extra = inputs.clone();
    extra.push(("h0".into(), inputs[2].1.clone()));
    assert!(matches!(
        model.run_reference(&extra),
        Err(Error::UnexpectedTensor { name, .. }) if name == "h0"
    ));
    let mut misshapen = without("X");
    misshapen.push(("X".into(), Value::Float(Tensor::zeros([1, 2, 3]))));
    let err = model.run_reference(&misshapen).unwrap_err();
    assert!(
        matches!(&err, Error::ShapeMismatch { name, .. } if name == "X"),
        "{err}"
    );
    let mut ints = without("X");
    let shape = inputs[0].1.shape().to_vec();
    let n = shape.iter().product();
    ints.push((
        "X".into(),
        Value::Int(IntTensor::new(shape, vec![1; n]).unwrap()),
    ));
    assert!(matches!(
        model.run_reference(&ints),
        Err(Error::BadDtype { name, .. }) if name == "X"
    ));
}

#[test]
fn sequence_lens_out_of_range_names_the_node() {
    let (model, input) = fixture("ort", "lstm_01");
    let model = OnnxModel::load(model).unwrap();
    let mut inputs = model.load_inputs(input).unwrap();
    let (_, lens) = inputs
        .iter_mut()
        .find(|(n, _)| n == "sequence_lens")
        .expect("lstm_01 has sequence_lens");
    let Value::Int(l) = lens else { panic!() };
    l.data[0] = 99;
    let err = model.run_reference(&inputs).unwrap_err();
    assert!(
        matches!(&err, Error::OnnxNode { op, .. } if op == "LSTM")
            && err.to_string().contains("sequence_lens[0] = 99"),
        "{err}"
    );
}

#[test]
fn cli_refuses_with_one_line_and_writes_nothing() {
    let (_, input) = fixture("ort", "lstm_00");
    let out = std::env::temp_dir().join(format!(
        "wgpu-rnn-onnx-bad-{}.safetensors",
        std::process::id()
    ));
    for file in ["softmax", "weights_input", "garbage"] {
        let result = Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"))
            .args(["run", "--device", "reference", "--model"])
            .arg(bad(file))
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{file}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{file}: {stderr}");
        assert!(stderr.starts_with("wgpu-rnn: error: "), "{file}: {stderr}");
        assert!(!out.exists(), "{file}");
    }
}
