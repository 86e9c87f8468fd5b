//! Input and output files of the `run` and `grad` commands: safetensors holding a forward's
//! arguments (`input`, optional `h0`, `c0`, `lengths`), its results (`output`, `h_n`, `c_n`), a
//! backward's output gradients (`grad_output`, optional `grad_h_n`, `grad_c_n`) or its results.

use std::path::Path;

use crate::backward::{Gradients, OutputGrads};
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
        let input = file.take_required_f32("input")?;
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
        file.refuse_remaining(Self::NAMES)?;
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

/// The output gradients of one backward call, as read from a gradient file. Shapes as on
/// [`OutputGrads`].
#[derive(Clone, Debug)]
pub struct GradFile {
    /// `grad_output`: the shape of the forward's `output`.
    pub grad_output: Tensor,
    /// `grad_h_n`, if present: the shape of `h_n`.
    pub grad_h_n: Option<Tensor>,
    /// `grad_c_n`, if present: the shape of `c_n` (LSTM, LSTMCell).
    pub grad_c_n: Option<Tensor>,
}

impl GradFile {
    /// The names a gradient file may hold.
    pub const NAMES: &'static str = "grad_output, grad_h_n, grad_c_n";

    /// Reads a gradient file. Tensors may be F32, F64, F16 or BF16; `grad_output` is required and
    /// any other name than [`GradFile::NAMES`] is refused. Shapes are checked at backward time.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let mut file = TensorFile::read(path.as_ref())?;
        let grad_output = file.take_required_f32("grad_output")?;
        let grad_h_n = file.take_f32("grad_h_n")?;
        let grad_c_n = file.take_f32("grad_c_n")?;
        file.refuse_remaining(Self::NAMES)?;
        Ok(Self {
            grad_output,
            grad_h_n,
            grad_c_n,
        })
    }

    /// The output gradients borrowed from this file.
    pub fn as_output_grads(&self) -> OutputGrads<'_> {
        OutputGrads {
            grad_output: Some(&self.grad_output),
            grad_h_n: self.grad_h_n.as_ref(),
            grad_c_n: self.grad_c_n.as_ref(),
        }
    }
}

impl Gradients {
    /// Writes `forward`'s `output`, `h_n`, `c_n` (as [`ForwardOutput::save`] does) and the
    /// gradients `grad_input`, `grad_h0`, `grad_c0` (LSTM, LSTMCell) and `grad_<name>` for every
    /// parameter, as f32 to `path`, atomically.
    pub fn save(&self, forward: &ForwardOutput, path: impl AsRef<Path>) -> Result<()> {
        let named: Vec<(String, &Tensor)> = self
            .named_parameters()
            .into_iter()
            .map(|(n, t)| (format!("grad_{n}"), t))
            .collect();
        let mut tensors = vec![("output", &forward.output), ("h_n", &forward.h_n)];
        tensors.extend(forward.c_n.as_ref().map(|c| ("c_n", c)));
        tensors.push(("grad_input", &self.input));
        tensors.push(("grad_h0", &self.h0));
        tensors.extend(self.c0.as_ref().map(|c| ("grad_c0", c)));
        tensors.extend(named.iter().map(|(n, t)| (n.as_str(), *t)));
        write_atomic(path.as_ref(), &tensors, None)
    }
}
