//! The arguments and results of a forward pass in PyTorch's shapes, their validation, and the
//! time-major layout every backend computes in.

use crate::config::{Family, RnnConfig};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The arguments of a forward call, as PyTorch takes them.
///
/// Sequence modules (`T` steps, `N` batch rows, `I = input_size`, `D` directions, `L` layers,
/// `H = hidden_size`, `H_out = proj_size` or `H`):
/// - `input`: (T, N, I), or (N, T, I) with `batch_first`, or unbatched (T, I);
/// - `h0`: (D·L, N, H_out), or (D·L, H_out) for unbatched input; zeros when absent;
/// - `c0` (LSTM only): (D·L, N, H), or (D·L, H); zeros when absent;
/// - `lengths`: (N) per-row valid steps, each in 1..=T, as `pack_padded_sequence(..,
///   enforce_sorted=False)` takes them; batched input only.
///
/// Cells: `input` (N, I) or (I); `h0` and `c0` (N, H) or (H); no `lengths`.
#[derive(Clone, Copy, Debug)]
pub struct ForwardInput<'a> {
    /// The input sequence (or cell input).
    pub input: &'a Tensor,
    /// The initial hidden state.
    pub h0: Option<&'a Tensor>,
    /// The initial cell state (LSTM, LSTMCell).
    pub c0: Option<&'a Tensor>,
    /// Per-row sequence lengths.
    pub lengths: Option<&'a [usize]>,
}

impl<'a> ForwardInput<'a> {
    /// Just an input; zero initial state, full lengths.
    pub fn new(input: &'a Tensor) -> Self {
        Self {
            input,
            h0: None,
            c0: None,
            lengths: None,
        }
    }
    /// Sets the initial hidden state.
    pub fn with_h0(mut self, h0: &'a Tensor) -> Self {
        self.h0 = Some(h0);
        self
    }
    /// Sets the initial cell state.
    pub fn with_c0(mut self, c0: &'a Tensor) -> Self {
        self.c0 = Some(c0);
        self
    }
    /// Sets per-row lengths.
    pub fn with_lengths(mut self, lengths: &'a [usize]) -> Self {
        self.lengths = Some(lengths);
        self
    }
}

/// The results of a forward call, in PyTorch's shapes.
///
/// Sequence modules: `output` (T_out, N, D·H_out) or (N, T_out, D·H_out) with `batch_first`, or
/// (T_out, D·H_out) unbatched, where `T_out` is T, or max(lengths) when lengths are given (as
/// `pad_packed_sequence` returns it; steps past a row's length are 0); `h_n` (D·L, N, H_out) or
/// (D·L, H_out); `c_n` (D·L, N, H) or (D·L, H) for LSTM.
///
/// Cells: `output` and `h_n` both hold the new hidden state (N, H) or (H); `c_n` the new cell
/// state for LSTMCell.
#[derive(Clone, Debug, PartialEq)]
pub struct ForwardOutput {
    /// Every step's top-layer hidden state (the new state for cells).
    pub output: Tensor,
    /// The final hidden state of every layer and direction.
    pub h_n: Tensor,
    /// The final cell state of every layer and direction (LSTM, LSTMCell).
    pub c_n: Option<Tensor>,
}

/// A validated forward call laid out time-major, the form every backend computes on.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Time steps `T` (1 for cells).
    pub seq_len: usize,
    /// Batch rows `N` (1 for unbatched input).
    pub batch: usize,
    /// Whether the caller's tensors carried a batch dimension.
    pub batched: bool,
    /// The input, (T, N, I) time-major.
    pub x: Vec<f32>,
    /// The initial hidden states, (D·L, N, H_out); zeros if none were given.
    pub h0: Vec<f32>,
    /// The initial cell states, (D·L, N, H) for LSTM; empty for other families.
    pub c0: Vec<f32>,
    /// Per-row lengths (N), each in 1..=T, if given.
    pub lengths: Option<Vec<usize>>,
}

impl Prepared {
    /// Validates `args` against `config` and lays the input out time-major.
    pub fn new(config: &RnnConfig, args: &ForwardInput<'_>) -> Result<Self> {
        let input = args.input;
        let shape = input.shape();
        let i = config.input_size;
        let cell = config.kind.is_cell();
        let (expect_ranks, layout) = if cell {
            ("(N, I) or unbatched (I)", [2, 1])
        } else if config.batch_first {
            ("(N, T, I) or unbatched (T, I)", [3, 2])
        } else {
            ("(T, N, I) or unbatched (T, I)", [3, 2])
        };
        let batched = match shape.len() {
            r if r == layout[0] => true,
            r if r == layout[1] => false,
            _ => {
                return Err(Error::ShapeMismatch {
                    name: "input".into(),
                    actual: shape.to_vec(),
                    expected: format!("{config} expects {expect_ranks}"),
                });
            }
        };
        let width = *shape.last().expect("rank >= 1");
        if width != i {
            return Err(Error::ShapeMismatch {
                name: "input".into(),
                actual: shape.to_vec(),
                expected: format!(
                    "the model expects {i} features per step (input_size), the input has {width}"
                ),
            });
        }
        let (seq_len, batch) = match (cell, batched, config.batch_first) {
            (true, true, _) => (1, shape[0]),
            (true, false, _) => (1, 1),
            (false, true, false) => (shape[0], shape[1]),
            (false, true, true) => (shape[1], shape[0]),
            (false, false, _) => (shape[0], 1),
        };
        if seq_len == 0 || batch == 0 {
            return Err(Error::ShapeMismatch {
                name: "input".into(),
                actual: shape.to_vec(),
                expected: "sequence length and batch size must be at least 1".into(),
            });
        }
        let x = if batched && config.batch_first && !cell {
            transpose01(input.data(), batch, seq_len, i)
        } else {
            input.data().to_vec()
        };

        let groups = config.num_groups();
        let h_out = config.output_hidden();
        let state_shape = |width: usize| -> Vec<usize> {
            match (cell, batched) {
                (true, true) => vec![batch, width],
                (true, false) => vec![width],
                (false, true) => vec![groups, batch, width],
                (false, false) => vec![groups, width],
            }
        };
        let state_rule = if cell {
            "(batch, hidden)"
        } else {
            "(num_layers*num_directions, batch, hidden)"
        };
        let check_state = |name: &str, t: Option<&Tensor>, width: usize| -> Result<Vec<f32>> {
            let want = state_shape(width);
            match t {
                None => Ok(vec![0.0; groups * batch * width]),
                Some(t) if t.shape() == want.as_slice() => Ok(t.data().to_vec()),
                Some(t) => Err(Error::ShapeMismatch {
                    name: name.into(),
                    actual: t.shape().to_vec(),
                    expected: format!("{config} with this input expects {want:?} {state_rule}"),
                }),
            }
        };
        let h0 = check_state("h0", args.h0, h_out)?;
        let c0 = if config.family() == Family::Lstm {
            check_state("c0", args.c0, config.hidden_size)?
        } else {
            if args.c0.is_some() {
                return Err(Error::UnexpectedTensor {
                    name: "c0".into(),
                    context: format!(" for {}", config.kind),
                    expected: "c0 only for LSTM and LSTMCell".into(),
                });
            }
            Vec::new()
        };

        let lengths = match args.lengths {
            None => None,
            Some(_) if cell => {
                return Err(Error::UnexpectedTensor {
                    name: "lengths".into(),
                    context: format!(" for {}", config.kind),
                    expected: "lengths only for sequence modules (RNN, LSTM, GRU)".into(),
                });
            }
            Some(lengths) if !batched || lengths.len() != batch => {
                return Err(Error::ShapeMismatch {
                    name: "lengths".into(),
                    actual: vec![lengths.len()],
                    expected: if batched {
                        format!("the input has {batch} batch rows, so lengths needs [{batch}]")
                    } else {
                        "lengths needs batched input (PyTorch packs batched sequences only)".into()
                    },
                });
            }
            Some(lengths) => {
                if let Some((index, &value)) = lengths
                    .iter()
                    .enumerate()
                    .find(|&(_, &l)| l == 0 || l > seq_len)
                {
                    return Err(Error::BadLength {
                        index,
                        value: value as i64,
                        max: seq_len,
                    });
                }
                Some(lengths.to_vec())
            }
        };

        Ok(Self {
            seq_len,
            batch,
            batched,
            x,
            h0,
            c0,
            lengths,
        })
    }

    /// Steps in the output: T, or max(lengths) as `pad_packed_sequence` pads.
    pub fn output_steps(&self) -> usize {
        self.lengths
            .as_ref()
            .map_or(self.seq_len, |l| l.iter().copied().max().unwrap_or(0))
    }

    /// Row `n`'s valid steps.
    pub fn length(&self, n: usize) -> usize {
        self.lengths.as_ref().map_or(self.seq_len, |l| l[n])
    }

    /// Shapes a backend's time-major results as PyTorch returns them.
    ///
    /// `output`: (output_steps, N, D·H_out); `h_n`: (D·L, N, H_out); `c_n`: (D·L, N, H) for LSTM.
    pub fn finish(
        &self,
        config: &RnnConfig,
        output: Vec<f32>,
        h_n: Vec<f32>,
        c_n: Option<Vec<f32>>,
    ) -> ForwardOutput {
        let (n, groups) = (self.batch, config.num_groups());
        let h_out = config.output_hidden();
        let width = config.num_directions() * h_out;
        let t_out = self.output_steps();
        let tensor = |shape: Vec<usize>, data: Vec<f32>| {
            Tensor::new(shape, data).expect("backend results have the documented sizes")
        };
        let state = |data: Vec<f32>, w: usize| match (config.kind.is_cell(), self.batched) {
            (true, true) => tensor(vec![n, w], data),
            (true, false) => tensor(vec![w], data),
            (false, true) => tensor(vec![groups, n, w], data),
            (false, false) => tensor(vec![groups, w], data),
        };
        let c_n = c_n.map(|c| state(c, config.hidden_size));
        if config.kind.is_cell() {
            let h = state(h_n, h_out);
            return ForwardOutput {
                output: h.clone(),
                h_n: h,
                c_n,
            };
        }
        let output = match (self.batched, config.batch_first) {
            (false, _) => tensor(vec![t_out, width], output),
            (true, false) => tensor(vec![t_out, n, width], output),
            (true, true) => tensor(vec![n, t_out, width], transpose01(&output, t_out, n, width)),
        };
        ForwardOutput {
            output,
            h_n: state(h_n, h_out),
            c_n,
        }
    }
}

/// Swaps the two outer dimensions of an (a, b, c) row-major array.
fn transpose01(data: &[f32], a: usize, b: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for i in 0..a {
        for j in 0..b {
            let src = (i * b + j) * c;
            let dst = (j * a + i) * c;
            out[dst..dst + c].copy_from_slice(&data[src..src + c]);
        }
    }
    out
}
