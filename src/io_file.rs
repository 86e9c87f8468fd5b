//! Input and output files of the `run` command: safetensors holding a forward's arguments
//! (`input`, optional `h0`, `c0`, `lengths`) or its results (`output`, `h_n`, `c_n`).

use std::path::Path;

use crate::error::{Error, Result};
use crate::file::{TensorFile, check_writable, write_atomic};
use crate::forward::{ForwardInput, ForwardOutput};
use crate::tensor::Tensor;

/// The arguments of one forward call, as read from an input file. Shapes as on [`ForwardInput`].
#[derive(Clone, Debug)]
pub struct InputFile {
    /// `input`: (T, N, I), (N, T, I) with batch_first, (T, I); cells (N, I) or (I).
    pub input: Tensor,
    /// `h0`, if present.
    pub h0: Option<Tensor>,
    /// `c0`, if present.
    pub c0: Option<Tensor>,
    /// `lengths` (N), stored as I64 or I32, if present.
    pub lengths: Option<Vec<usize>>,
}

impl InputFile {
    /// The names an input file may hold.
    pub const NAMES: &'static str = "input, h0, c0, lengths";

    /// Reads an input file. Float tensors may be F32, F64, F16 or BF16; `lengths` I64 or I32 and
    /// one-dimensional, every value at least 1 (the upper bound T is checked at forward time). Any other tensor name is refused.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_file(TensorFile::read(path.as_ref())?)
    }

    /// Reads an input file from its bytes; `name` only labels errors.
    pub fn from_safetensors_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        Self::from_file(TensorFile::parse(Path::new(name), bytes)?)
    }

    fn from_file(mut file: TensorFile) -> Result<Self> {
        let input = file
            .take_f32("input")?
            .ok_or_else(|| Error::MissingTensor {
                name: "input".into(),
                context: file.context(),
            })?;
        let h0 = file.take_f32("h0")?;
        let c0 = file.take_f32("c0")?;
        let lengths = match file.take_i64("lengths")? {
            None => None,
            Some((shape, values)) => {
                if shape.len() != 1 {
                    return Err(Error::ShapeMismatch {
                        name: "lengths".into(),
                        actual: shape,
                        expected: "lengths must be one-dimensional (N)".into(),
                    });
                }
                let mut out = Vec::with_capacity(values.len());
                for (index, &value) in values.iter().enumerate() {
                    if value < 1 {
                        return Err(Error::NonPositiveLength { index, value });
                    }
                    out.push(usize::try_from(value).unwrap_or(usize::MAX));
                }
                Some(out)
            }
        };
        if let Some(name) = file.tensors.keys().min() {
            return Err(Error::UnexpectedTensor {
                name: name.clone(),
                context: file.context(),
                expected: Self::NAMES.into(),
            });
        }
        Ok(Self {
            input,
            h0,
            c0,
            lengths,
        })
    }

    /// The forward arguments borrowed from this file.
    pub fn as_forward(&self) -> ForwardInput<'_> {
        ForwardInput {
            input: &self.input,
            h0: self.h0.as_ref(),
            c0: self.c0.as_ref(),
            lengths: self.lengths.as_deref(),
        }
    }
}

impl ForwardOutput {
    /// Writes `output`, `h_n` and `c_n` (when present) as f32 to `path`, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut tensors = vec![("output", &self.output), ("h_n", &self.h_n)];
        if let Some(c_n) = &self.c_n {
            tensors.push(("c_n", c_n));
        }
        write_atomic(path.as_ref(), &tensors, None)
    }

    /// Checks that [`ForwardOutput::save`] can write `path` (its directory exists and takes a new
    /// file; `path` is no directory) without writing it: [`Error::CannotWrite`] before a forward
    /// whose result would have nowhere to go.
    pub fn check_save_path(path: impl AsRef<Path>) -> Result<()> {
        check_writable(path.as_ref())
    }
}
