//! ONNX fixtures in tests/fixtures/onnx/{node,ort,torch}/ (scripts/make_onnx_fixtures.py): each
//! case's model, inputs (named as the graph inputs) and expected graph outputs.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this shared file"
)]

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use wgpu_rnn::onnx::Value;

use super::fixtures::{Expected, max_rel_err};

/// The fixture sets: ONNX's node tests, random onnxruntime cases, torch.onnx.export graphs.
pub const SETS: [&str; 3] = ["node", "ort", "torch"];

/// One case: `SET/NAME.onnx`, `.input.safetensors`, `.expected.safetensors`.
pub struct OnnxFixture {
    pub set: &'static str,
    pub name: String,
    pub model: PathBuf,
    pub input: PathBuf,
    pub expected: PathBuf,
}

/// Every case of `set`, sorted by name.
pub fn cases(set: &'static str) -> Vec<OnnxFixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(set);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".onnx").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixtures in {}", dir.display());
    names
        .into_iter()
        .map(|name| OnnxFixture {
            set,
            model: dir.join(format!("{name}.onnx")),
            input: dir.join(format!("{name}.input.safetensors")),
            expected: dir.join(format!("{name}.expected.safetensors")),
            name,
        })
        .collect()
}

/// The expected outputs of a case (stored as f32 or f64), by name.
pub fn expected(path: &Path) -> Vec<(String, Expected)> {
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    file.iter()
        .map(|(name, view)| {
            let values = match view.dtype() {
                Dtype::F64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
                Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
                    .collect(),
                other => panic!("{name} in {path:?} is {other:?}"),
            };
            let shape = view.shape().to_vec();
            (name.to_string(), Expected { shape, values })
        })
        .collect()
}

/// The worst relative error of `outputs` against `case`'s expectation; every expected output must
/// be produced (and nothing else).
pub fn worst_error(case: &OnnxFixture, outputs: &[(String, Value)]) -> Result<f64, String> {
    let want = expected(&case.expected);
    if want.len() != outputs.len() {
        return Err(format!(
            "{} outputs, expected {}",
            outputs.len(),
            want.len()
        ));
    }
    let mut worst = 0f64;
    for (name, w) in &want {
        let (_, got) = outputs
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("output {name} missing"))?;
        let Value::Float(t) = got else {
            return Err(format!("output {name} is not float"));
        };
        let e = max_rel_err(t.shape(), t.data(), w).map_err(|e| format!("{name}: {e}"))?;
        worst = worst.max(e);
    }
    Ok(worst)
}
