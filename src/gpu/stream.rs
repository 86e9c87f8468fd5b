//! [`GpuStream`]: a model's recurrent state kept on the GPU across calls, advanced by one step (or a
//! chunk of steps) per call, recorded into the application's command encoder.
//!
//! Streaming T steps in any chunking gives what one forward over the same T inputs gives: the
//! same kernels run on the same values in the same order (the per-step tables differ only in the
//! step numbering), so the results agree to the bit.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::gpu::model::GpuModel;
use crate::gpu::tensor::GpuTensor;
use crate::gpu::workspace::Workspace;
use crate::tensor::Tensor;

/// A model's state on the GPU — `h` (and `c` for LSTM) for every layer, direction and batch row —
/// stepped by calls that record into the application's command encoder.
///
/// Layouts (all `f32`, row-major, time-major; `S` steps per call, `N` rows, `I = input_size`,
/// `L` layers, `H = hidden_size`, `H_out = proj_size` or `H`):
/// - input (S, N, I), or (N, I) for one step; a model's `batch_first` does not apply here;
/// - output (S, N, H_out): the top layer's hidden state after each step;
/// - `h` (L, N, H_out) and `c` (L, N, H), indexed like PyTorch's `h_n` / `c_n` (`L·D` with D = 1);
///   for cells L = 1: (1, N, H).
///
/// Why not bidirectional models: their reverse direction at step t depends on the inputs after
/// t, up to the end of the sequence, which a stream has not seen yet; [`GpuStream::new`] refuses
/// them with [`Error::CannotStream`]. Use [`GpuModel::encode_forward`] over the whole sequence.
///
/// Cells stream as sequences of cell calls: each step is one `cell(x, h)` (or `cell(x, (h, c))`).
///
/// Sequence lengths do not apply: every row takes every step. To start a row over (a new episode,
/// a new entity in that slot) reset it ([`GpuStream::encode_reset_rows`]); a row whose results are
/// not needed simply keeps stepping.
///
/// Allocation: [`GpuStream::new`] allocates the buffers for up to `max_steps` steps per call and
/// the program of `max_steps` steps. The first call with another step count builds that count's
/// program (one small uniform buffer and a few bind groups; [`GpuStream::prepare`] does it ahead
/// of time; the last 8 counts are kept). After that, a step creates no buffers, bind groups or
/// pipelines (see [`GpuContext::buffer_count`] and its siblings).
///
/// `encode_*` methods record into the application's encoder and take effect, in recording order,
/// when it is submitted. Host-side methods ([`GpuStream::reset`], [`GpuStream::set_state`],
/// [`GpuStream::read_state`]) submit work of their own at once: call them between the
/// application's submits, not between an `encode_*` call and the submit of its encoder.
///
/// [`GpuContext::buffer_count`]: crate::GpuContext::buffer_count
#[derive(Debug)]
pub struct GpuStream {
    model: Arc<GpuModel>,
    workspace: Workspace,
    input: GpuTensor,
    output: GpuTensor,
    h: GpuTensor,
    c: Option<GpuTensor>,
    steps_taken: u64,
}

impl GpuStream {
    /// A stream of `batch` rows over `model`, accepting up to `max_steps` steps per call, with
    /// zero state. [`Error::CannotStream`] for bidirectional models.
    pub fn new(model: Arc<GpuModel>, batch: usize, max_steps: usize) -> Result<Self> {
        let config = model.config();
        if config.bidirectional {
            return Err(Error::CannotStream {
                model: config.to_string(),
                reason: "the reverse direction at step t reads every input after t, which a \
                         stream has not seen yet; run GpuModel::encode_forward over the whole \
                         sequence instead"
                    .into(),
            });
        }
        if batch == 0 || max_steps == 0 {
            return Err(Error::ShapeMismatch {
                name: "stream".into(),
                actual: vec![max_steps, batch],
                expected: "at least 1 step per call and 1 batch row".into(),
            });
        }
        let workspace = Workspace::new(&model, max_steps, batch)?;
        let (layers, h_out, hidden) = (
            config.num_layers,
            config.output_hidden(),
            config.hidden_size,
        );
        let b = &workspace.buffers;
        let input = GpuTensor::from_buffer(b.x.clone(), [max_steps, batch, config.input_size])?;
        let output =
            GpuTensor::from_buffer(workspace.output(&model).clone(), [max_steps, batch, h_out])?;
        let h = GpuTensor::from_buffer(b.h[0].clone(), [layers, batch, h_out])?;
        let c = match &b.c {
            Some(c) => Some(GpuTensor::from_buffer(c.clone(), [layers, batch, hidden])?),
            None => None,
        };
        Ok(Self {
            model,
            workspace,
            input,
            output,
            h,
            c,
            steps_taken: 0,
        })
    }

    /// The model.
    pub fn model(&self) -> &Arc<GpuModel> {
        &self.model
    }

    /// Batch rows `N`.
    pub fn batch(&self) -> usize {
        self.workspace.batch
    }

    /// The most steps one call takes.
    pub fn max_steps(&self) -> usize {
        self.workspace.max_steps
    }

    /// Steps recorded since the stream was made (resets do not change it).
    pub fn steps_taken(&self) -> u64 {
        self.steps_taken
    }

    /// The stream's own input buffer, (max_steps, N, I). An application may write a call's S
    /// steps into its first S·N·I elements with its own passes (it has `STORAGE | COPY_DST`)
    /// and then call [`GpuStream::encode_step_in_place`], saving a copy.
    pub fn input(&self) -> &GpuTensor {
        &self.input
    }

    /// The stream's own output buffer, (max_steps, N, H_out): after a call of S steps its first
    /// S·N·H_out elements hold that call's outputs. Stable for the stream's life, so an
    /// application can bind it once in its own passes (`STORAGE | COPY_SRC`).
    pub fn output(&self) -> &GpuTensor {
        &self.output
    }

    /// The hidden state `h`, (L, N, H_out), on the GPU (`STORAGE | COPY_SRC | COPY_DST`).
    pub fn h(&self) -> &GpuTensor {
        &self.h
    }

    /// The cell state `c`, (L, N, H), for LSTM and LSTMCell.
    pub fn c(&self) -> Option<&GpuTensor> {
        self.c.as_ref()
    }

    /// Builds the program of `steps`-step calls now, so that the first such call creates nothing.
    pub fn prepare(&mut self, steps: usize) -> Result<()> {
        self.check_steps(steps)?;
        self.workspace.prepare(&self.model, steps)
    }

    /// Records `S = input.shape()[0]` steps into `encoder`: copies `input` (S, N, I) — or (N, I)
    /// for one step — into the stream's input buffer, advances the state, and copies the outputs
    /// (S, N, H_out) — or (N, H_out) — into `output` when given. `input` needs `COPY_SRC`,
    /// `output` `COPY_DST`. No submit, no readback: the results exist once the application submits
    /// `encoder`.
    pub fn encode_step(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
        output: Option<&GpuTensor>,
    ) -> Result<()> {
        let (steps, n, i) = (0, self.batch(), self.model.config().input_size);
        let steps = match input.shape() {
            [s, rows, width] if *rows == n && *width == i => *s,
            [rows, width] if *rows == n && *width == i => 1,
            _ => steps,
        };
        if steps == 0 {
            return Err(Error::ShapeMismatch {
                name: "input".into(),
                actual: input.shape().to_vec(),
                expected: format!(
                    "this stream takes (S, {n}, {i}) with 1 <= S <= {} or (N, I) = ({n}, {i})",
                    self.max_steps()
                ),
            });
        }
        self.check_steps(steps)?;
        input.require("input", wgpu::BufferUsages::COPY_SRC, None)?;
        if input.buffer() == self.input.buffer() {
            return Err(Error::BadBuffer {
                name: "input".into(),
                reason: "is the stream's own input buffer: use encode_step_in_place".into(),
            });
        }
        let out_shape = self.output_shape(steps, input.shape().len() == 2);
        if let Some(out) = output {
            out.require("output", wgpu::BufferUsages::COPY_DST, Some(&out_shape))?;
        }
        self.model.context().check_alive()?;
        encoder.copy_buffer_to_buffer(
            input.buffer(),
            input.offset(),
            self.input.buffer(),
            0,
            input.byte_len(),
        );
        self.record(encoder, steps, output)
    }

    /// Records `steps` steps over the inputs the application already wrote into the first
    /// `steps·N·I` elements of [`GpuStream::input`], copying the outputs (steps, N, H_out) into
    /// `output` when given.
    pub fn encode_step_in_place(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        steps: usize,
        output: Option<&GpuTensor>,
    ) -> Result<()> {
        self.check_steps(steps)?;
        if let Some(out) = output {
            let shape = self.output_shape(steps, false);
            out.require("output", wgpu::BufferUsages::COPY_DST, Some(&shape))?;
        }
        self.model.context().check_alive()?;
        self.record(encoder, steps, output)
    }

    /// Records a reset of every row's state to zero.
    pub fn encode_reset(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.clear_buffer(self.h.buffer(), 0, None);
        if let Some(c) = &self.c {
            encoder.clear_buffer(c.buffer(), 0, None);
        }
    }

    /// Records a reset of the state of batch rows `rows` to zero (every layer); other rows keep
    /// theirs.
    pub fn encode_reset_rows(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        rows: &[usize],
    ) -> Result<()> {
        let n = self.batch();
        if let Some(&bad) = rows.iter().find(|&&r| r >= n) {
            return Err(Error::ShapeMismatch {
                name: "rows".into(),
                actual: vec![bad],
                expected: format!("row indices below the stream's batch size {n}"),
            });
        }
        let layers = self.model.config().num_layers;
        let mut clear = |t: &GpuTensor, width: usize| {
            let bytes = width as u64 * 4;
            for layer in 0..layers {
                for &row in rows {
                    let at = ((layer * n + row) * width) as u64 * 4;
                    encoder.clear_buffer(t.buffer(), at, Some(bytes));
                }
            }
        };
        clear(&self.h, self.model.config().output_hidden());
        if let Some(c) = &self.c {
            clear(c, self.model.config().hidden_size);
        }
        Ok(())
    }

    /// Records an overwrite of the state with `h` (L, N, H_out) and, for LSTM, `c` (L, N, H)
    /// (zeros when `None`), copied from the application's buffers (`COPY_SRC`).
    pub fn encode_set_state(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        h: &GpuTensor,
        c: Option<&GpuTensor>,
    ) -> Result<()> {
        h.require("h", wgpu::BufferUsages::COPY_SRC, Some(self.h.shape()))?;
        self.refuse_c_without_cell_state(c.is_some())?;
        if let (Some(own), Some(c)) = (&self.c, c) {
            c.require("c", wgpu::BufferUsages::COPY_SRC, Some(own.shape()))?;
        }
        encoder.copy_buffer_to_buffer(h.buffer(), h.offset(), self.h.buffer(), 0, h.byte_len());
        if let Some(own) = &self.c {
            match c {
                Some(c) => encoder.copy_buffer_to_buffer(
                    c.buffer(),
                    c.offset(),
                    own.buffer(),
                    0,
                    c.byte_len(),
                ),
                None => encoder.clear_buffer(own.buffer(), 0, None),
            }
        }
        Ok(())
    }

    /// Resets every row's state to zero now (one submit of its own).
    pub fn reset(&self) -> Result<()> {
        let mut encoder = self.model.context().encoder("wgpu-rnn.stream.reset");
        self.encode_reset(&mut encoder);
        self.model
            .context()
            .submit("resetting a stream's state", encoder)
    }

    /// Resets the state of batch rows `rows` to zero now (one submit of its own).
    pub fn reset_rows(&self, rows: &[usize]) -> Result<()> {
        let mut encoder = self.model.context().encoder("wgpu-rnn.stream.reset_rows");
        self.encode_reset_rows(&mut encoder, rows)?;
        self.model
            .context()
            .submit("resetting rows of a stream's state", encoder)
    }

    /// Overwrites the state now with host tensors `h` (L, N, H_out) and, for LSTM, `c` (L, N, H)
    /// (zeros when `None`). The data is written through the queue, so it lands before any work
    /// submitted afterwards.
    pub fn set_state(&self, h: &Tensor, c: Option<&Tensor>) -> Result<()> {
        let check = |name: &str, t: &Tensor, want: &[usize]| {
            if t.shape() == want {
                Ok(())
            } else {
                Err(Error::ShapeMismatch {
                    name: name.into(),
                    actual: t.shape().to_vec(),
                    expected: format!("this stream's state is {want:?} (layers, batch, width)"),
                })
            }
        };
        check("h", h, self.h.shape())?;
        self.refuse_c_without_cell_state(c.is_some())?;
        if let (Some(own), Some(c)) = (&self.c, c) {
            check("c", c, own.shape())?;
        }
        let ctx = self.model.context();
        ctx.scoped("writing a stream's state", || {
            let queue = ctx.queue();
            queue.write_buffer(self.h.buffer(), 0, bytemuck::cast_slice(h.data()));
            if let Some(own) = &self.c {
                let zeros;
                let data = match c {
                    Some(c) => c.data(),
                    None => {
                        zeros = vec![0f32; own.numel()];
                        &zeros
                    }
                };
                queue.write_buffer(own.buffer(), 0, bytemuck::cast_slice(data));
            }
        })
    }

    /// Reads the state back, blocking: `h` (L, N, H_out) and, for LSTM, `c` (L, N, H). For a
    /// frame loop, read [`GpuStream::h`] through a [`GpuReadback`](crate::gpu::GpuReadback).
    pub fn read_state(&self) -> Result<(Tensor, Option<Tensor>)> {
        let ctx = self.model.context();
        let h = self.h.read(ctx)?;
        let c = match &self.c {
            Some(c) => Some(c.read(ctx)?),
            None => None,
        };
        Ok((h, c))
    }

    /// Refuses a `c` given to a stream whose model has no cell state (not an LSTM).
    fn refuse_c_without_cell_state(&self, c_given: bool) -> Result<()> {
        if c_given && self.c.is_none() {
            return Err(Error::UnexpectedTensor {
                name: "c".into(),
                context: format!(" for {}", self.model.config().kind),
                expected: "c only for LSTM and LSTMCell".into(),
            });
        }
        Ok(())
    }

    fn check_steps(&self, steps: usize) -> Result<()> {
        if (1..=self.max_steps()).contains(&steps) {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                name: "steps".into(),
                actual: vec![steps],
                expected: format!(
                    "1 to {} steps per call (the stream's max_steps)",
                    self.max_steps()
                ),
            })
        }
    }

    fn output_shape(&self, steps: usize, one_step_rank2: bool) -> Vec<usize> {
        let (n, h_out) = (self.batch(), self.model.config().output_hidden());
        if one_step_rank2 {
            vec![n, h_out]
        } else {
            vec![steps, n, h_out]
        }
    }

    fn record(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        steps: usize,
        output: Option<&GpuTensor>,
    ) -> Result<()> {
        self.workspace.record(&self.model, encoder, steps)?;
        if let Some(out) = output {
            encoder.copy_buffer_to_buffer(
                self.output.buffer(),
                0,
                out.buffer(),
                out.offset(),
                out.byte_len(),
            );
        }
        self.steps_taken += steps as u64;
        Ok(())
    }
}
