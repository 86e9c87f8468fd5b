//! PyTorch fixtures in tests/fixtures/: every case's model, input and float64 expectation.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this shared file"
)]

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

/// One fixture case: NAME.model.safetensors, NAME.input.safetensors, NAME.expected.safetensors.
pub struct Fixture {
    pub name: String,
    pub model: PathBuf,
    pub input: PathBuf,
    pub expected: PathBuf,
}

/// The fixture directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every case, sorted by name.
pub fn all() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("tests/fixtures exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".model.safetensors").map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| Fixture {
            model: dir().join(format!("{name}.model.safetensors")),
            input: dir().join(format!("{name}.input.safetensors")),
            expected: dir().join(format!("{name}.expected.safetensors")),
            name,
        })
        .collect()
}

/// The case called `name`.
pub fn named(name: &str) -> Fixture {
    all()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// The result tensor an expected file names: `output`, `h_n` or `c_n`.
pub fn result_tensor<'a>(out: &'a wgpu_rnn::ForwardOutput, name: &str) -> &'a wgpu_rnn::Tensor {
    match name {
        "output" => &out.output,
        "h_n" => &out.h_n,
        "c_n" => out.c_n.as_ref().expect("c_n expected but not produced"),
        other => panic!("unknown expected tensor {other}"),
    }
}

/// An expected tensor: shape and float64 values.
pub struct Expected {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// Reads the float64 tensors of an expected file: `output`, `h_n` and maybe `c_n`.
pub fn expected(path: &Path) -> Vec<(String, Expected)> {
    expected_from_bytes(&std::fs::read(path).unwrap(), &path.display().to_string())
}

/// [`expected`] from the file's bytes (`what` names it in panics), e.g. embedded in the browser.
pub fn expected_from_bytes(bytes: &[u8], what: &str) -> Vec<(String, Expected)> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let mut out: Vec<(String, Expected)> = file
        .iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), Dtype::F64, "{name} in {what}");
            let values = view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect();
            let shape = view.shape().to_vec();
            (name.to_string(), Expected { shape, values })
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The largest error relative to max(1, |expected|); NaN must sit where NaN is expected.
/// Returns Err with a description at the first mismatch in shape or NaN placement.
pub fn max_rel_err(got_shape: &[usize], got: &[f32], want: &Expected) -> Result<f64, String> {
    if got_shape != want.shape.as_slice() {
        return Err(format!("shape {got_shape:?}, expected {:?}", want.shape));
    }
    let mut worst = 0f64;
    for (i, (&g, &w)) in got.iter().zip(&want.values).enumerate() {
        if w.is_nan() || g.is_nan() {
            if w.is_nan() != g.is_nan() {
                return Err(format!("element {i}: got {g}, expected {w}"));
            }
            continue;
        }
        worst = worst.max((g as f64 - w).abs() / w.abs().max(1.0));
    }
    Ok(worst)
}

/// One gradient case: a forward fixture's model and input, with grad/NAME.grad.safetensors
/// (the output gradients) and grad/NAME.expected.safetensors (float64 results of torch.autograd).
pub struct GradFixture {
    pub name: String,
    pub model: PathBuf,
    pub input: PathBuf,
    pub grads: PathBuf,
    pub expected: PathBuf,
}

/// Every gradient case, sorted by name.
pub fn grad_cases() -> Vec<GradFixture> {
    let grad_dir = dir().join("grad");
    let mut names: Vec<String> = std::fs::read_dir(&grad_dir)
        .expect("tests/fixtures/grad exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".grad.safetensors").map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| GradFixture {
            model: dir().join(format!("{name}.model.safetensors")),
            input: dir().join(format!("{name}.input.safetensors")),
            grads: grad_dir.join(format!("{name}.grad.safetensors")),
            expected: grad_dir.join(format!("{name}.expected.safetensors")),
            name,
        })
        .collect()
}

/// The tensor a gradient expectation names: a forward result, `grad_input`, `grad_h0`,
/// `grad_c0` or `grad_<parameter>`.
pub fn gradient_tensor<'a>(
    out: &'a wgpu_rnn::ForwardOutput,
    grads: &'a wgpu_rnn::Gradients,
    name: &str,
) -> &'a wgpu_rnn::Tensor {
    match name {
        "grad_input" => &grads.input,
        "grad_h0" => &grads.h0,
        "grad_c0" => grads
            .c0
            .as_ref()
            .expect("grad_c0 expected but not produced"),
        _ => match name.strip_prefix("grad_") {
            Some(param) => {
                grads
                    .named_parameters()
                    .into_iter()
                    .find(|(n, _)| *n == param)
                    .unwrap_or_else(|| panic!("no gradient for parameter {param}"))
                    .1
            }
            None => result_tensor(out, name),
        },
    }
}

/// One optimizer trajectory: train/NAME.model.safetensors (the start), NAME.batches.safetensors
/// (`input_K`, `target_K`, maybe `lengths_K`), NAME.expected.safetensors (float64 `loss` per step,
/// `step1.<param>` and `<param>` after the last step; the optimizer in its metadata).
pub struct TrainFixture {
    pub name: String,
    pub model: PathBuf,
    pub batches: Vec<TrainBatch>,
    pub optimizer: wgpu_rnn::Optimizer,
    pub clip: Option<f64>,
    pub expected: Vec<(String, Expected)>,
}

/// One training step's batch.
pub struct TrainBatch {
    pub input: wgpu_rnn::Tensor,
    pub target: wgpu_rnn::Tensor,
    pub lengths: Option<Vec<usize>>,
}

/// Every optimizer trajectory, sorted by name.
pub fn train_cases() -> Vec<TrainFixture> {
    let train_dir = dir().join("train");
    let mut names: Vec<String> = std::fs::read_dir(&train_dir)
        .expect("tests/fixtures/train exists")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".batches.safetensors")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = |what: &str| train_dir.join(format!("{name}.{what}.safetensors"));
            let expected_bytes = std::fs::read(path("expected")).unwrap();
            let (_, header) = SafeTensors::read_metadata(&expected_bytes).unwrap();
            let meta = header.metadata().clone().expect("optimizer metadata");
            let num = |k: &str| -> f64 { meta[k].parse().unwrap() };
            let optimizer = match meta["optimizer"].as_str() {
                "SGD" => wgpu_rnn::Sgd::new(num("lr"))
                    .with_momentum(num("momentum"))
                    .with_dampening(num("dampening"))
                    .with_weight_decay(num("weight_decay"))
                    .with_nesterov(meta["nesterov"] == "true")
                    .into(),
                kind @ ("Adam" | "AdamW") => {
                    let base = if kind == "Adam" {
                        wgpu_rnn::Adam::new(num("lr"))
                    } else {
                        wgpu_rnn::Adam::adamw(num("lr"))
                    };
                    base.with_betas(num("beta1"), num("beta2"))
                        .with_eps(num("eps"))
                        .with_weight_decay(num("weight_decay"))
                        .into()
                }
                other => panic!("unknown optimizer {other}"),
            };
            let batch_bytes = std::fs::read(path("batches")).unwrap();
            let file = SafeTensors::deserialize(&batch_bytes).unwrap();
            let f32s = |key: String| {
                let v = file.tensor(&key).unwrap();
                let data = v
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                wgpu_rnn::Tensor::new(v.shape(), data).unwrap()
            };
            let steps = file
                .names()
                .iter()
                .filter(|n| n.starts_with("input_"))
                .count();
            let batches = (0..steps)
                .map(|k| TrainBatch {
                    input: f32s(format!("input_{k}")),
                    target: f32s(format!("target_{k}")),
                    lengths: file.tensor(&format!("lengths_{k}")).ok().map(|v| {
                        v.data()
                            .chunks_exact(8)
                            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as usize)
                            .collect()
                    }),
                })
                .collect();
            TrainFixture {
                model: path("model"),
                batches,
                optimizer,
                clip: meta.get("clip_grad_norm").map(|v| v.parse().unwrap()),
                expected: expected(&path("expected")),
                name,
            }
        })
        .collect()
}
