//! [`GpuTbptt`]: a stream that trains as it goes, with truncated backpropagation through time
//! over its last K frames, recorded into the application's encoder frame by frame.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::gpu::encode::{GpuForwardInput, GpuForwardOutput};
use crate::gpu::tensor::GpuTensor;
use crate::gpu::train::plan::Buf;
use crate::gpu::train::trainer::GpuTrainer;

/// A stream of frames (one time step of `N` rows each) that trains its model every `stride`
/// frames on the last `window` frames: truncated BPTT. Per training point it records, into the
/// application's encoder, a training forward over the window from the state the stream had just
/// before the window (carried on the GPU, not differentiated through: that is the truncation), the
/// MSE against the window's targets, the backward, and the trainer's optimizer step; then it moves
/// the window's start state `stride` frames on (the state the forward reached there, with the
/// weights of that forward). Unidirectional models only (the reverse direction needs the future).
///
/// Shapes, time-major: a frame's input (1, N, I) and target (1, N, H_out); the state (L, N, H_out)
/// and (L, N, H) for LSTM.
#[derive(Debug)]
pub struct GpuTbptt {
    trainer: Arc<GpuTrainer>,
    window: usize,
    stride: usize,
    /// Frames seen, and since the last training point.
    frames: usize,
    since: usize,
    /// The window's inputs (K, N, I) and targets (K, N, H_out), and a scratch for shifting.
    inputs: GpuTensor,
    targets: GpuTensor,
    scratch: wgpu::Buffer,
    /// The state just before the window: h (L, N, H_out), c (L, N, H).
    h0: GpuTensor,
    c0: Option<GpuTensor>,
    out: GpuForwardOutput,
    loss: GpuTensor,
}

impl GpuTbptt {
    /// A stream of `batch` rows training `trainer` (with an optimizer set) every `stride` frames
    /// over the last `window` frames, from zero state.
    pub fn new(
        trainer: Arc<GpuTrainer>,
        batch: usize,
        window: usize,
        stride: usize,
    ) -> Result<Self> {
        let config = trainer.config().clone();
        if config.bidirectional || config.kind.is_cell() {
            return Err(Error::CannotStream {
                model: config.to_string(),
                reason: "truncated BPTT needs a unidirectional sequence module (RNN, LSTM, GRU)"
                    .into(),
            });
        }
        if batch == 0 || window == 0 || stride == 0 || stride > window {
            return Err(Error::InvalidConfig(format!(
                "truncated BPTT needs batch, window and stride of at least 1 and stride <= window (got {batch}, {window}, {stride})"
            )));
        }
        let ctx = trainer.context();
        let (h_out, layers) = (config.output_hidden(), config.num_layers);
        let zeros = |label: &str, shape: Vec<usize>| GpuTensor::zeros(ctx, label, shape);
        let inputs = zeros(
            "wgpu-rnn.tbptt.inputs",
            vec![window, batch, config.input_size],
        )?;
        let targets = zeros("wgpu-rnn.tbptt.targets", vec![window, batch, h_out])?;
        let scratch = ctx.create_checked_buffer(
            "the truncated-BPTT window",
            "wgpu-rnn.tbptt.scratch",
            inputs.byte_len().max(targets.byte_len()).max(4),
            GpuTensor::USAGE,
        )?;
        Ok(Self {
            targets,
            h0: zeros("wgpu-rnn.tbptt.h0", vec![layers, batch, h_out])?,
            c0: match config.family() {
                crate::config::Family::Lstm => Some(zeros(
                    "wgpu-rnn.tbptt.c0",
                    vec![layers, batch, config.hidden_size],
                )?),
                _ => None,
            },
            out: GpuForwardOutput {
                output: zeros("wgpu-rnn.tbptt.output", vec![window, batch, h_out])?,
                h_n: None,
                c_n: None,
            },
            loss: zeros("wgpu-rnn.tbptt.loss", vec![1])?,
            trainer,
            window,
            stride,
            frames: 0,
            since: 0,
            inputs,
            scratch,
        })
    }

    /// Records one frame into `encoder`: appends `input` (1, N, I) and `target` (1, N, H_out)
    /// (each needs `COPY_SRC`) to the window and, when the window is full and `stride` frames
    /// came since the last training point, a training step over it. Returns whether it did.
    pub fn encode_frame(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        input: &GpuTensor,
        target: &GpuTensor,
    ) -> Result<bool> {
        let (k, n) = (self.window, self.h0.shape()[1]);
        let src = wgpu::BufferUsages::COPY_SRC;
        let config = self.trainer.config();
        input.require("input", src, Some(&[1, n, config.input_size]))?;
        target.require("target", src, Some(&[1, n, config.output_hidden()]))?;
        let slot = self.frames.min(k - 1);
        if self.frames >= k {
            // Drop the oldest frame: shift the window one frame down through the scratch.
            for window in [&self.inputs, &self.targets] {
                let frame = window.byte_len() / k as u64;
                let rest = frame * (k as u64 - 1);
                encoder.copy_buffer_to_buffer(window.buffer(), frame, &self.scratch, 0, rest);
                encoder.copy_buffer_to_buffer(&self.scratch, 0, window.buffer(), 0, rest);
            }
        }
        for (frame, window) in [(input, &self.inputs), (target, &self.targets)] {
            let at = window.byte_len() / k as u64 * slot as u64;
            encoder.copy_buffer_to_buffer(
                frame.buffer(),
                frame.offset(),
                window.buffer(),
                at,
                frame.byte_len(),
            );
        }
        self.frames += 1;
        self.since += 1;
        if self.frames < k || (self.frames > k && self.since < self.stride) {
            return Ok(false);
        }
        self.since = 0;
        let args = GpuForwardInput {
            input: &self.inputs,
            h0: Some(&self.h0),
            c0: self.c0.as_ref(),
        };
        self.trainer.encode_forward(encoder, &args, &self.out)?;
        self.trainer
            .encode_mse_backward(encoder, &self.targets, Some(&self.loss), false)?;
        self.trainer.encode_optimizer_step(encoder)?;
        // The next window starts `stride` frames later, from the state this forward reached there.
        self.trainer
            .encode_copy_state_at(encoder, self.stride - 1, &self.h0, self.c0.as_ref())?;
        Ok(true)
    }

    /// The model's output at the newest frame of the last training forward (1, N, H_out): its
    /// prediction for the current frame, with the weights before that step's update.
    pub fn output(&self) -> Result<GpuTensor> {
        let out = &self.out.output;
        let frame = out.byte_len() / self.window as u64;
        let shape = [1, out.shape()[1], out.shape()[2]];
        GpuTensor::from_buffer_at(
            out.buffer().clone(),
            out.offset() + frame * (self.window as u64 - 1),
            shape,
        )
    }

    /// The loss of the last training step (1): `mse_loss` over the window.
    pub fn loss(&self) -> &GpuTensor {
        &self.loss
    }

    /// The state just before the current window (L, N, H_out), and (L, N, H) for LSTM.
    pub fn state(&self) -> (&GpuTensor, Option<&GpuTensor>) {
        (&self.h0, self.c0.as_ref())
    }

    /// Frames seen so far.
    pub fn frames(&self) -> usize {
        self.frames
    }
}

impl GpuTrainer {
    /// Records copying the state the last [`GpuTrainer::encode_forward`] reached after step
    /// `step` (every layer, direction 0) into `h` (L, N, H_out) and `c` (L, N, H).
    pub(crate) fn encode_copy_state_at(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        step: usize,
        h: &GpuTensor,
        c: Option<&GpuTensor>,
    ) -> Result<()> {
        let config = self.config();
        let (hidden, h_out) = (config.hidden_size, config.output_hidden());
        let slot = self.encode_shape.lock().unwrap_or_else(|p| p.into_inner());
        let ts = slot.as_ref().ok_or_else(|| {
            Error::InvalidConfig(
                "no training forward: record GpuTrainer::encode_forward first".into(),
            )
        })?;
        let (t_len, n) = (ts.plan.seq_len, ts.plan.batch);
        let saved = crate::gpu::train::gemms::RowWidths::new(config).saved;
        for layer in 0..config.num_layers {
            let rows = (n * h_out) as u64 * 4;
            let from = (step * n * h_out) as u64 * 4;
            let to = h.offset() + layer as u64 * rows;
            encoder.copy_buffer_to_buffer(
                ts.buffer(self, Buf::Output(layer)),
                from,
                h.buffer(),
                to,
                rows,
            );
            if let Some(c) = c {
                // c' sits after the gates in each saved row (D, T, N, S), one row per batch row.
                for row in 0..n {
                    let from = ((step * n + row) * saved + 4 * hidden) as u64 * 4;
                    let to = c.offset() + ((layer * n + row) * hidden) as u64 * 4;
                    let saved_buf = ts.buffer(self, Buf::Saved(layer));
                    encoder.copy_buffer_to_buffer(
                        saved_buf,
                        from,
                        c.buffer(),
                        to,
                        hidden as u64 * 4,
                    );
                }
            }
        }
        debug_assert!(step < t_len);
        Ok(())
    }
}
