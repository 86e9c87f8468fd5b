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

/// Every `torch.onnx.export` graph loads with `Model::load` as the module it came from (layers,
/// directions, batch_first fused back), and that model reproduces PyTorch's outputs.
#[test]
fn torch_graphs_load_as_the_module_they_came_from() {
    use wgpu_rnn::{ForwardInput, Model};
    for case in cases("torch") {
        let model = Model::load(&case.model).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let config = model.config();
        let layers: usize = case.name[case.name.find("_l").unwrap() + 2..][..1]
            .parse()
            .unwrap();
        assert_eq!(config.num_layers, layers, "{}", case.name);
        assert_eq!(
            config.bidirectional,
            case.name.contains("_bi"),
            "{}",
            case.name
        );
        assert_eq!(
            config.batch_first,
            case.name.contains("_bf"),
            "{}",
            case.name
        );
        let onnx = OnnxModel::load(&case.model).unwrap();
        let inputs = onnx.load_inputs(&case.input).unwrap();
        let get = |name: &str| {
            inputs.iter().find_map(|(n, v)| match v {
                Value::Float(t) if n == name => Some(t.clone()),
                _ => None,
            })
        };
        let (x, h0, c0) = (get("input").unwrap(), get("h0"), get("c0"));
        let mut args = ForwardInput::new(&x);
        if let Some(h0) = &h0 {
            args = args.with_h0(h0);
        }
        if let Some(c0) = &c0 {
            args = args.with_c0(c0);
        }
        let out = model.forward_reference(&args).unwrap();
        let mut outputs = vec![
            ("output".to_string(), Value::Float(out.output)),
            ("h_n".to_string(), Value::Float(out.h_n)),
        ];
        outputs.extend(out.c_n.map(|c| ("c_n".to_string(), Value::Float(c))));
        let worst = worst_error(&case, &outputs).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(worst <= TOLERANCE, "{}: {worst:e}", case.name);
    }
    // A single ONNX node (ONNX's inputs and outputs, not a module's) gives the node's model.
    for set in ["node", "ort"] {
        for case in cases(set) {
            let model = Model::load(&case.model).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(model.config().num_layers, 1);
        }
    }
}

/// `wgpu-rnn show` on an ONNX model: its inputs, its nodes as modules, the fused module, weights.
#[test]
fn show_describes_an_onnx_model() {
    let case = cases("torch")
        .into_iter()
        .find(|c| c.name == "gru_l2_bi")
        .expect("the fixture exists");
    let out = Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"))
        .arg("show")
        .arg(&case.model)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "ONNX model",
        "inputs: input FLOAT [4, 2, 3]",
        "(GRU): GRU(3, 5, bidirectional=True)",
        "(GRU): GRU(10, 5, bidirectional=True)",
        "as one model (Model::load): GRU(3, 5, num_layers=2, bidirectional=True)",
        "weight_hh_l0_reverse",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
}
