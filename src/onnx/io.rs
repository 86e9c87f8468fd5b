//! An ONNX model's inputs and outputs as files and as checked values: safetensors holding one
//! tensor per graph input (named as the graph names it), every graph output written as f32.

use std::collections::HashMap;
use std::path::Path;

use safetensors::Dtype;

use crate::error::{Error, Result};
use crate::file::{TensorFile, write_atomic};
use crate::tensor::Tensor;

use super::value::{IntTensor, Value};
use super::{Dim, OnnxModel};

impl OnnxModel {
    /// Reads an input file for this model: safetensors with one tensor per graph input, named
    /// exactly as the graph input; floats as F32, F64, F16 or BF16, integers (`sequence_lens`) as
    /// I64 or I32. The names, kinds and shapes are checked when the model runs.
    pub fn load_inputs(&self, path: impl AsRef<Path>) -> Result<Vec<(String, Value)>> {
        let mut file = TensorFile::read(path.as_ref())?;
        let mut names: Vec<String> = file.tensors.keys().cloned().collect();
        names.sort();
        let mut inputs = Vec::with_capacity(names.len());
        for name in names {
            let dtype = file.tensors[&name].dtype;
            let value = match dtype {
                Dtype::F32 | Dtype::F64 | Dtype::F16 | Dtype::BF16 => {
                    Value::Float(file.take_f32(&name)?.expect("listed"))
                }
                Dtype::I64 | Dtype::I32 => {
                    let (shape, data) = file.take_i64(&name)?.expect("listed");
                    Value::Int(IntTensor::new(shape, data).expect("the file's sizes are checked"))
                }
                other => {
                    return Err(Error::BadDtype {
                        name,
                        dtype: format!("{other:?}"),
                        expected: "inputs must be F32, F64, F16, BF16, I64 or I32".into(),
                    });
                }
            };
            inputs.push((name, value));
        }
        Ok(inputs)
    }

    /// The inputs of a run by name, refusing a missing or extra input, a float where the graph
    /// declares integers (or the reverse), and a shape the graph's declaration excludes.
    pub(crate) fn check_inputs(&self, inputs: &[(String, Value)]) -> Result<HashMap<&str, Value>> {
        let context = format!(" for the ONNX model {}", self.path().display());
        let names = || {
            self.inputs()
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut by_name = HashMap::new();
        for (name, value) in inputs {
            let Some(io) = self.inputs().iter().find(|i| &i.name == name) else {
                return Err(Error::UnexpectedTensor {
                    name: name.clone(),
                    context: context.clone(),
                    expected: format!("the graph inputs: {}", names()),
                });
            };
            by_name.insert(io.name.as_str(), value.clone());
        }
        let mut named_dims: HashMap<&str, usize> = HashMap::new();
        for io in self.inputs() {
            let Some(value) = by_name.get(io.name.as_str()) else {
                return Err(Error::MissingTensor {
                    name: io.name.clone(),
                    context: format!("{context} (its graph inputs: {})", names()),
                });
            };
            let is_float = matches!(value, Value::Float(_));
            if io.elem != 0 && io.float != is_float {
                return Err(Error::BadDtype {
                    name: io.name.clone(),
                    dtype: value.kind().into(),
                    expected: format!("the graph declares {}", io.elem_type),
                });
            }
            let shape = value.shape();
            let mismatch = || Error::ShapeMismatch {
                name: io.name.clone(),
                actual: shape.to_vec(),
                expected: format!("the graph declares {io}"),
            };
            let Some(dims) = &io.dims else { continue };
            if dims.len() != shape.len() {
                return Err(mismatch());
            }
            for (d, &n) in dims.iter().zip(shape) {
                match d {
                    Dim::Fixed(want) if *want != n => return Err(mismatch()),
                    Dim::Named(p) if *named_dims.entry(p.as_str()).or_insert(n) != n => {
                        return Err(mismatch());
                    }
                    _ => {}
                }
            }
        }
        Ok(by_name)
    }
}

/// Writes `outputs` (every graph output, by name) as f32 tensors to `path`, atomically; integer
/// outputs are converted.
pub fn save_outputs(path: impl AsRef<Path>, outputs: &[(String, Value)]) -> Result<()> {
    let tensors: Vec<(&str, Tensor)> = outputs
        .iter()
        .map(|(name, v)| {
            let t = match v {
                Value::Float(t) => t.clone(),
                Value::Int(t) => {
                    Tensor::new(t.shape.clone(), t.data.iter().map(|&x| x as f32).collect())
                        .expect("same element count")
                }
            };
            (name.as_str(), t)
        })
        .collect();
    let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    write_atomic(path.as_ref(), &refs, None)
}
