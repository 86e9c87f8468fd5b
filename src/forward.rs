//! The arguments and results of a forward pass in PyTorch's shapes, their validation, and the
//! time-major layout every backend computes in.

use crate::config::{Family, LengthRule, RnnConfig};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The arguments of a forward call, as PyTorch takes them.
///
/// Sequence modules (`T` steps, `N` batch rows, `I = input_size`, `D` directions, `L` layers,
/// `H = hidden_size`, `H_out = proj_size` or `H`):
/// - `input`: (T, N, I), or (N, T, I) with `batch_first`, or unbatched (T, I);
/// - `h0`: (D·L, N, H_out), or (D·L, H_out) for unbatched input; zeros when absent;
/// - `c0` (LSTM only): (D·L, N, H), or (D·L, H); zeros when absent; an LSTM takes `h0` and `c0`
///   together or neither ([`Error::IncompleteState`]), as PyTorch does;
/// - `lengths`: (N) per-row valid steps, each in 1..=T, as `pack_padded_sequence(..,
///   enforce_sorted=False)` takes them (in 0..=T under [`LengthRule::Padded`]); batched input
///   only.
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
/// `pad_packed_sequence` returns it; steps past a row's length are 0) under [`LengthRule::Packed`]
/// (T under [`LengthRule::Padded`]); `h_n` (D·L, N, H_out) or
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
    /// Per-row lengths (N), each in 1..=T (0..=T under [`LengthRule::Padded`]), if given.
    pub lengths: Option<Vec<usize>>,
    /// The configuration's length rule.
    pub length_rule: LengthRule,
    /// The call's shapes in the caller's layout, for [`Prepared::finish`].
    shape: CallShape,
}

/// The shapes of one call of a model, derived from its input's shape alone: the one place the
/// rank, layout and state-shape rules live, for the host forward ([`Prepared`]) and the GPU's
/// `encode_forward` alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallShape {
    /// Time steps `T` (1 for cells).
    pub(crate) steps: usize,
    /// Batch rows `N` (1 for unbatched input).
    pub(crate) batch: usize,
    /// Whether the input carried a batch dimension.
    pub(crate) batched: bool,
    /// Whether the sequence input and output are (N, T, ·).
    pub(crate) batch_first: bool,
    /// Whether the model is a cell (its output is its new state).
    cell: bool,
    /// `D·H_out`, the width of a sequence output step.
    out_width: usize,
    /// `h0` / `h_n` shape.
    pub(crate) h: Vec<usize>,
    /// `c0` / `c_n` shape (LSTM and LSTMCell only).
    pub(crate) c: Option<Vec<usize>>,
}

impl CallShape {
    /// The shapes of a call of `config` on an input of shape `input`, (N, T, I) when
    /// `batch_first` (a sequence model's), or why it is refused.
    pub(crate) fn new(config: &RnnConfig, input: &[usize], batch_first: bool) -> Result<Self> {
        let i = config.input_size;
        let cell = config.kind.is_cell();
        let batch_first = batch_first && !cell;
        let (expect_ranks, full_rank) = if cell {
            ("(N, I) or unbatched (I)", 2)
        } else if batch_first {
            ("(N, T, I) or unbatched (T, I)", 3)
        } else {
            ("(T, N, I) or unbatched (T, I)", 3)
        };
        let batched = match input.len() {
            r if r == full_rank => true,
            r if r + 1 == full_rank => false,
            _ => {
                return Err(Error::ShapeMismatch {
                    name: "input".into(),
                    actual: input.to_vec(),
                    expected: format!("{config} expects {expect_ranks}"),
                });
            }
        };
        let width = *input.last().expect("rank >= 1");
        if width != i {
            return Err(Error::ShapeMismatch {
                name: "input".into(),
                actual: input.to_vec(),
                expected: format!(
                    "the model expects {i} features per step (input_size), the input has {width}"
                ),
            });
        }
        let (steps, batch) = match (cell, batched, batch_first) {
            (true, true, _) => (1, input[0]),
            (true, false, _) => (1, 1),
            (false, true, false) => (input[0], input[1]),
            (false, true, true) => (input[1], input[0]),
            (false, false, _) => (input[0], 1),
        };
        if steps == 0 || batch == 0 {
            return Err(Error::ShapeMismatch {
                name: "input".into(),
                actual: input.to_vec(),
                expected: "sequence length and batch size must be at least 1".into(),
            });
        }
        let groups = config.num_groups();
        let state = |w: usize| match (cell, batched) {
            (true, true) => vec![batch, w],
            (true, false) => vec![w],
            (false, true) => vec![groups, batch, w],
            (false, false) => vec![groups, w],
        };
        Ok(Self {
            steps,
            batch,
            batched,
            batch_first,
            cell,
            out_width: config.num_directions() * config.output_hidden(),
            h: state(config.output_hidden()),
            c: (config.family() == Family::Lstm).then(|| state(config.hidden_size)),
        })
    }

    /// The input's shape, with `input_size` features: (T, N, I), (N, T, I) with batch_first,
    /// (T, I) unbatched; cells (N, I) or (I).
    pub(crate) fn input(&self, input_size: usize) -> Vec<usize> {
        match (self.cell, self.batched, self.batch_first) {
            (true, true, _) => vec![self.batch, input_size],
            (true, false, _) => vec![input_size],
            (false, false, _) => vec![self.steps, input_size],
            (false, true, false) => vec![self.steps, self.batch, input_size],
            (false, true, true) => vec![self.batch, self.steps, input_size],
        }
    }

    /// Refuses half an LSTM state: `(h0, c0)` come together or not at all, as PyTorch takes them.
    pub(crate) fn check_state_pair(
        &self,
        config: &RnnConfig,
        has_h0: bool,
        has_c0: bool,
    ) -> Result<()> {
        if self.c.is_none() || has_h0 == has_c0 {
            return Ok(());
        }
        let (given, missing) = if has_h0 { ("h0", "c0") } else { ("c0", "h0") };
        Err(Error::IncompleteState {
            given: given.into(),
            missing: missing.into(),
            model: config.to_string(),
        })
    }

    /// The output's shape when it holds `steps` time steps: (steps, N, D·H_out), (N, steps,
    /// D·H_out) with batch_first, (steps, D·H_out) unbatched; a cell's output is its new state.
    pub(crate) fn output(&self, steps: usize) -> Vec<usize> {
        match (self.cell, self.batched, self.batch_first) {
            (true, _, _) => self.h.clone(),
            (false, false, _) => vec![steps, self.out_width],
            (false, true, false) => vec![steps, self.batch, self.out_width],
            (false, true, true) => vec![self.batch, steps, self.out_width],
        }
    }
}

impl Prepared {
    /// Validates `args` against `config` and lays the input out time-major.
    pub fn new(config: &RnnConfig, args: &ForwardInput<'_>) -> Result<Self> {
        let input = args.input;
        let shape = CallShape::new(config, input.shape(), config.batch_first)?;
        let (seq_len, batch, batched) = (shape.steps, shape.batch, shape.batched);
        let cell = config.kind.is_cell();
        let x = if batched && config.batch_first && !cell {
            transpose01(input.data(), batch, seq_len, config.input_size)
        } else {
            input.data().to_vec()
        };

        let state_rule = if cell {
            "(batch, hidden)"
        } else {
            "(num_layers*num_directions, batch, hidden)"
        };
        let check_state = |name: &str, t: Option<&Tensor>, want: &[usize]| -> Result<Vec<f32>> {
            match t {
                None => Ok(vec![0.0; want.iter().product()]),
                Some(t) if t.shape() == want => Ok(t.data().to_vec()),
                Some(t) => Err(Error::ShapeMismatch {
                    name: name.into(),
                    actual: t.shape().to_vec(),
                    expected: format!("{config} with this input expects {want:?} {state_rule}"),
                }),
            }
        };
        shape.check_state_pair(config, args.h0.is_some(), args.c0.is_some())?;
        let h0 = check_state("h0", args.h0, &shape.h)?;
        let c0 = match &shape.c {
            Some(c) => check_state("c0", args.c0, c)?,
            None => {
                if args.c0.is_some() {
                    return Err(Error::UnexpectedTensor {
                        name: "c0".into(),
                        context: format!(" for {}", config.kind),
                        expected: "c0 only for LSTM and LSTMCell".into(),
                    });
                }
                Vec::new()
            }
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
                let min = match config.lengths {
                    LengthRule::Packed => 1,
                    LengthRule::Padded => 0,
                };
                if let Some((index, &value)) = lengths
                    .iter()
                    .enumerate()
                    .find(|&(_, &l)| l < min || l > seq_len)
                {
                    return Err(Error::BadLength {
                        index,
                        value: i64::try_from(value).unwrap_or(i64::MAX),
                        min,
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
            length_rule: config.lengths,
            shape,
        })
    }

    /// Steps in the output: T, or under [`LengthRule::Packed`] with lengths, max(lengths) as
    /// `pad_packed_sequence` pads.
    pub fn output_steps(&self) -> usize {
        match (self.length_rule, &self.lengths) {
            (LengthRule::Packed, Some(l)) => l.iter().copied().max().unwrap_or(0),
            _ => self.seq_len,
        }
    }

    /// Row `n`'s valid steps.
    pub fn length(&self, n: usize) -> usize {
        self.lengths.as_ref().map_or(self.seq_len, |l| l[n])
    }

    /// The call's shapes in the caller's layout.
    pub(crate) fn call_shape(&self) -> &CallShape {
        &self.shape
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
        let tensor = |shape: Vec<usize>, data: Vec<f32>| {
            Tensor::new(shape, data).expect("backend results have the documented sizes")
        };
        let h_n = tensor(self.shape.h.clone(), h_n);
        let c_n = c_n.map(|c| tensor(self.shape.c.clone().expect("c_n only for LSTM"), c));
        if config.kind.is_cell() {
            return ForwardOutput {
                output: h_n.clone(),
                h_n,
                c_n,
            };
        }
        let (t_out, n) = (self.output_steps(), self.batch);
        let output = if self.batched && config.batch_first {
            transpose01(&output, t_out, n, self.shape.out_width)
        } else {
            output
        };
        ForwardOutput {
            output: tensor(self.shape.output(t_out), output),
            h_n,
            c_n,
        }
    }
}

/// Swaps the two outer dimensions of an (a, b, c) row-major array.
pub(crate) fn transpose01(data: &[f32], a: usize, b: usize, c: usize) -> Vec<f32> {
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
