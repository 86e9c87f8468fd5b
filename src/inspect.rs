//! Looking inside a file without interpreting it: every tensor as stored (name, element type,
//! shape, values widened to f64) and the string metadata — what `wgpu-rnn show` prints, for model,
//! input, output and gradient files alike.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::Dtype;

use crate::error::Result;
use crate::file::{RawTensor, TensorFile};

/// One tensor as a file stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    /// Its name in the file.
    pub name: String,
    /// Its element type as safetensors names it: `F32`, `BF16`, `I64`, ...
    pub dtype: String,
    /// Its shape, outermost dimension first.
    pub shape: Vec<usize>,
    /// Its elements widened to f64 (row-major), for floating-point, integer and boolean types;
    /// `None` for the others (8-bit floats, ...).
    pub values: Option<Vec<f64>>,
}

/// A file's tensors, sorted by name, and its string metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileContents {
    /// Every tensor, sorted by name.
    pub tensors: Vec<StoredTensor>,
    /// The metadata entries (empty when the file has none).
    pub metadata: BTreeMap<String, String>,
}

impl FileContents {
    /// Reads a safetensors file, with the checks model and input files get. A `torch.save` file is
    /// [`Error::PyTorchFile`](crate::Error::PyTorchFile).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let file = TensorFile::read(path.as_ref())?;
        let mut tensors: Vec<StoredTensor> = file
            .tensors
            .iter()
            .map(|(name, raw)| StoredTensor {
                name: name.clone(),
                dtype: format!("{:?}", raw.dtype),
                shape: raw.shape.clone(),
                values: widen(raw),
            })
            .collect();
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            tensors,
            metadata: file.metadata.into_iter().collect(),
        })
    }
}

/// The elements of `raw` as f64, where its type has a numeric reading.
fn widen(raw: &RawTensor) -> Option<Vec<f64>> {
    fn le<const W: usize>(bytes: &[u8], f: impl Fn([u8; W]) -> f64) -> Vec<f64> {
        bytes
            .chunks_exact(W)
            .map(|c| f(c.try_into().expect("chunk of W bytes")))
            .collect()
    }
    let b = raw.bytes.as_slice();
    Some(match raw.dtype {
        Dtype::F64 => le(b, f64::from_le_bytes),
        Dtype::F32 => le(b, |w| f32::from_le_bytes(w).into()),
        Dtype::F16 => le(b, |w| half::f16::from_le_bytes(w).into()),
        Dtype::BF16 => le(b, |w| half::bf16::from_le_bytes(w).into()),
        Dtype::I64 => le(b, |w| i64::from_le_bytes(w) as f64),
        Dtype::I32 => le(b, |w| i32::from_le_bytes(w).into()),
        Dtype::I16 => le(b, |w| i16::from_le_bytes(w).into()),
        Dtype::I8 => le(b, |w| i8::from_le_bytes(w).into()),
        Dtype::U64 => le(b, |w| u64::from_le_bytes(w) as f64),
        Dtype::U32 => le(b, |w| u32::from_le_bytes(w).into()),
        Dtype::U16 => le(b, |w| u16::from_le_bytes(w).into()),
        Dtype::U8 => le(b, |w: [u8; 1]| w[0].into()),
        Dtype::BOOL => le(b, |w: [u8; 1]| f64::from(u8::from(w[0] != 0))),
        _ => return None,
    })
}
