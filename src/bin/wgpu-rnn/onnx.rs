//! `run` and `check` on ONNX models: inputs named as the graph inputs, every graph output written
//! under its name, each recurrent node on the chosen device.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use wgpu_rnn::onnx::{OnnxModel, Value, looks_like_onnx, save_outputs};
use wgpu_rnn::{CpuModel, Error, GpuContext, GpuModel};

use crate::device::DeviceChoice;

/// Whether `path` names an ONNX model: a `.onnx` file, or a file whose bytes are an ONNX
/// protobuf rather than safetensors.
pub fn is_onnx(path: &Path) -> bool {
    let by_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    by_name || std::fs::read(path).is_ok_and(|b| looks_like_onnx(&b))
}

/// Where an ONNX model's recurrent nodes run.
enum Device {
    /// The f64 CPU reference.
    Reference,
    /// One fast CPU model per recurrent node.
    Cpu(Vec<CpuModel>),
    /// One GPU model per recurrent node.
    Gpu(Vec<GpuModel>),
}

impl Device {
    /// The device `choice` names. `auto` takes the GPU when an adapter exists and computes every
    /// node, else the fast CPU path when it does (PyTorch's semantics: see `CpuModel::forward`),
    /// else the f64 reference, with a notice saying why.
    fn choose(choice: DeviceChoice, model: &OnnxModel) -> Result<Self, Error> {
        let nodes = model.recurrent_models();
        let gpu = || -> Result<Self, Error> {
            let context = Arc::new(GpuContext::new()?);
            let models = nodes
                .iter()
                .map(|m| GpuModel::new(m, Arc::clone(&context)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Device::Gpu(models))
        };
        let cpu = || Device::Cpu(nodes.iter().map(|m| CpuModel::new(m)).collect());
        match choice {
            DeviceChoice::Reference => Ok(Device::Reference),
            DeviceChoice::Cpu => Ok(cpu()),
            DeviceChoice::Gpu => gpu().map_err(|e| match e {
                Error::DeviceUnavailable(reason) => Error::DeviceUnavailable(format!(
                    "{reason} (`wgpu-rnn info` lists the adapters wgpu sees)"
                )),
                e => e,
            }),
            DeviceChoice::Auto => match gpu() {
                Ok(d) => Ok(d),
                Err(e @ (Error::DeviceUnavailable(_) | Error::Unsupported(_))) => {
                    let fallback = if nodes.iter().all(|m| m.config().is_pytorch()) {
                        cpu()
                    } else {
                        Device::Reference
                    };
                    eprintln!(
                        "wgpu-rnn: notice: {e}; running on the {}",
                        fallback.describe()
                    );
                    Ok(fallback)
                }
                Err(e) => Err(e),
            },
        }
    }

    fn run(
        &self,
        model: &OnnxModel,
        inputs: &[(String, Value)],
    ) -> Result<Vec<(String, Value)>, Error> {
        match self {
            Device::Reference => model.run_reference(inputs),
            Device::Cpu(models) => model.run_with(inputs, |k, _, args| models[k].forward(args)),
            Device::Gpu(models) => model.run_with(inputs, |k, _, args| models[k].forward(args)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Device::Reference => "reference (f64 CPU reference)".into(),
            Device::Cpu(_) => format!(
                "cpu (fast f32 CPU path, {} threads)",
                wgpu_rnn::cpu::threads()
            ),
            Device::Gpu(models) => models.first().map_or_else(
                || "gpu (no recurrent node)".into(),
                |m| {
                    let info = m.context().adapter_info();
                    format!("{} ({:?})", info.name, info.backend)
                },
            ),
        }
    }
}

/// `run --model M.onnx`.
pub fn run(
    model: &Path,
    input: &Path,
    output: &Path,
    device: DeviceChoice,
) -> Result<ExitCode, Error> {
    let model = OnnxModel::load(model)?;
    let inputs = model.load_inputs(input)?;
    let device = Device::choose(device, &model)?;
    let outputs = device.run(&model, &inputs)?;
    save_outputs(output, &outputs)?;
    let written: Vec<String> = outputs
        .iter()
        .map(|(name, v)| format!("{name} {:?}", v.shape()))
        .collect();
    eprintln!(
        "wgpu-rnn: ran {} on {}; wrote {}: {}",
        describe(&model),
        device.describe(),
        output.display(),
        written.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// `check --model M.onnx`: every graph output on `device` against the CPU reference; prints each
/// output's differences and returns the worst relative one with the device's description.
pub fn check(model: &Path, input: &Path, device: DeviceChoice) -> Result<(f64, String), Error> {
    let model = OnnxModel::load(model)?;
    let inputs = model.load_inputs(input)?;
    let device = Device::choose(device, &model)?;
    let want = model.run_reference(&inputs)?;
    let got = device.run(&model, &inputs)?;
    println!(
        "{} on {} against the CPU reference (f64)",
        describe(&model),
        device.describe()
    );
    let mut worst = 0f64;
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        let (abs, rel) = crate::differences(&floats(g), &floats(w));
        worst = worst.max(rel);
        println!(
            "{name:>6} {:?}: max abs diff {abs:.3e}, max rel diff {rel:.3e}",
            g.shape()
        );
    }
    Ok((worst, device.describe()))
}

/// `ONNX model m.onnx (LSTM(3, 5, bidirectional=True), ...)`.
fn describe(model: &OnnxModel) -> String {
    let nodes: Vec<String> = model
        .recurrent_models()
        .iter()
        .map(|m| m.to_string())
        .collect();
    format!(
        "ONNX model {} ({})",
        model.path().display(),
        nodes.join(", ")
    )
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Float(t) => t.data().to_vec(),
        Value::Int(t) => t.data.iter().map(|&x| x as f32).collect(),
    }
}
