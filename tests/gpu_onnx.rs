//! ONNX fixtures on the GPU, on every backend under test and both plans (per step, sequence):
//! graphs whose recurrent nodes stay within PyTorch's semantics run node by node on `GpuModel`s
//! within 1e-5 of onnxruntime's, ONNX's or PyTorch's outputs, and every `torch.onnx.export`
//! graph, fused into one `Model`, runs as one `GpuModel`. Nodes with semantics beyond PyTorch's
//! are refused with `Error::Unsupported` (the GPU kernels do not compute them yet) and counted.

mod common;
#[path = "common/gpu.rs"]
mod gpu;

use common::onnx_fixtures::{SETS, cases, worst_error};
use wgpu_rnn::gpu::kernels::PlanChoice;
use wgpu_rnn::onnx::{OnnxModel, Value};
use wgpu_rnn::{Error, ForwardInput, GpuModel, Model};

const TOLERANCE: f64 = 1e-5;
const PLANS: [PlanChoice; 2] = [PlanChoice::PerStep, PlanChoice::Sequence];

#[test]
fn gpu_runs_every_onnx_graph_within_pytorch_semantics() {
    for backend in gpu::backends() {
        for plan in PLANS {
            let (mut ran, mut refused, mut worst) = (0, 0, 0f64);
            let mut failures = Vec::new();
            for set in SETS {
                for case in cases(set) {
                    let model = OnnxModel::load(&case.model).unwrap();
                    let built: Result<Vec<GpuModel>, Error> = model
                        .recurrent_models()
                        .into_iter()
                        .map(|m| GpuModel::with_plan(m, backend.context.clone(), plan))
                        .collect();
                    let gpus = match built {
                        Ok(g) => g,
                        Err(Error::Unsupported(_)) => {
                            refused += 1;
                            continue;
                        }
                        Err(e) => panic!("{set}/{}: {e}", case.name),
                    };
                    let inputs = model.load_inputs(&case.input).unwrap();
                    let outputs = model
                        .run_with(&inputs, |k, _, args| gpus[k].forward(args))
                        .unwrap_or_else(|e| panic!("{set}/{}: {e}", case.name));
                    ran += 1;
                    match worst_error(&case, &outputs) {
                        Ok(e) if e <= TOLERANCE => worst = worst.max(e),
                        Ok(e) => failures.push(format!("{set}/{}: error {e:e}", case.name)),
                        Err(e) => failures.push(format!("{set}/{}: {e}", case.name)),
                    }
                }
            }
            assert!(
                failures.is_empty(),
                "{} {plan:?}:\n{}",
                backend.name,
                failures.join("\n")
            );
            assert!(ran >= 40, "only {ran} ONNX fixtures ran on the GPU");
            gpu::say(&format!(
                "{} {plan:?}: {ran} ONNX fixtures within {TOLERANCE:e} (worst {worst:.2e}); {refused} need semantics the GPU kernels lack",
                backend.name
            ));
        }
    }
}

#[test]
fn torch_graphs_run_as_one_gpu_model() {
    for backend in gpu::backends() {
        for plan in PLANS {
            let mut worst = 0f64;
            for case in cases("torch") {
                let model = Model::load(&case.model).unwrap();
                let gpu = GpuModel::with_plan(&model, backend.context.clone(), plan).unwrap();
                let inputs = OnnxModel::load(&case.model)
                    .unwrap()
                    .load_inputs(&case.input)
                    .unwrap();
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
                let out = gpu.forward(&args).unwrap();
                let mut outputs = vec![
                    ("output".to_string(), Value::Float(out.output)),
                    ("h_n".to_string(), Value::Float(out.h_n)),
                ];
                outputs.extend(out.c_n.map(|c| ("c_n".to_string(), Value::Float(c))));
                let e =
                    worst_error(&case, &outputs).unwrap_or_else(|e| panic!("{}: {e}", case.name));
                assert!(
                    e <= TOLERANCE,
                    "{} {plan:?} {}: {e:e}",
                    backend.name,
                    case.name
                );
                worst = worst.max(e);
            }
            gpu::say(&format!(
                "{} {plan:?}: 36 torch.onnx.export graphs as one GpuModel within {TOLERANCE:e} (worst {worst:.2e})",
                backend.name
            ));
        }
    }
}
