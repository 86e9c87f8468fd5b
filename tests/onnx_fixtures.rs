//! Every ONNX fixture (ONNX's node tests, random onnxruntime cases, torch.onnx.export graphs) on
//! the CPU reference, through the library and through the `wgpu-rnn run` command, within 1e-5 of
//! onnxruntime's (or ONNX's, or PyTorch's) outputs.

mod common;

use std::process::Command;

use common::onnx_fixtures::{OnnxFixture, SETS, cases, worst_error};
use wgpu_rnn::onnx::{OnnxModel, Value};

const TOLERANCE: f64 = 1e-5;

fn check_set(set: &'static str, run: impl Fn(&OnnxFixture) -> Vec<(String, Value)>) -> f64 {
    let mut worst = 0f64;
    let mut failures = Vec::new();
    for case in cases(set) {
        match worst_error(&case, &run(&case)) {
            Ok(e) if e <= TOLERANCE => worst = worst.max(e),
            Ok(e) => failures.push(format!("{set}/{}: error {e:.3e}", case.name)),
            Err(e) => failures.push(format!("{set}/{}: {e}", case.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    worst
}

#[test]
fn reference_matches_every_onnx_fixture() {
    for set in SETS {
        let worst = check_set(set, |case| {
            let model = OnnxModel::load(&case.model).unwrap();
            let inputs = model.load_inputs(&case.input).unwrap();
            model
                .run_reference(&inputs)
                .unwrap_or_else(|e| panic!("{set}/{}: {e}", case.name))
        });
        println!("{set}: {} cases, worst error {worst:.2e}", cases(set).len());
    }
}

/// `wgpu-rnn run --device DEVICE` on every case of `set`; the worst error.
fn cli_set(set: &'static str, device: &str) -> f64 {
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-onnx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let worst = check_set(set, |case| {
        let out = dir.join(format!("{set}-{device}-{}.safetensors", case.name));
        let status = Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"))
            .args(["run", "--device", device, "--model"])
            .arg(&case.model)
            .arg("--input")
            .arg(&case.input)
            .arg("--output")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{set}/{}: {}",
            case.name,
            String::from_utf8_lossy(&status.stderr)
        );
        let outputs = read_outputs(&out);
        std::fs::remove_file(&out).ok();
        outputs
    });
    println!("{set} through `run --device {device}`: worst error {worst:.2e}");
    worst
}

#[test]
fn cli_reproduces_every_onnx_fixture_on_the_reference() {
    for set in SETS {
        cli_set(set, "reference");
    }
}

/// The fast f32 CPU path runs the torch graphs (PyTorch's semantics) node by node.
#[test]
fn cli_reproduces_the_torch_graphs_on_the_fast_cpu_path() {
    cli_set("torch", "cpu");
}

/// The f32 tensors of an output file, by name.
fn read_outputs(path: &std::path::Path) -> Vec<(String, Value)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32);
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            let t = wgpu_rnn::Tensor::new(view.shape(), data).unwrap();
            (name.to_string(), Value::Float(t))
        })
        .collect()
}
