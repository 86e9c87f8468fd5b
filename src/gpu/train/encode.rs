//! Training inside an application's own frame: [`GpuTrainer::encode_forward`],
//! [`GpuTrainer::encode_backward`] (or [`GpuTrainer::encode_mse_backward`]) and
//! [`GpuTrainer::encode_optimizer_step`] record a training step into the application's command
//! encoder, GPU tensors in and out: no submit, no readback, no wait.
//!
//! Layouts are time-major as for [`crate::GpuModel::encode_forward`] (a model's `batch_first`
//! applies only to host calls), and every row runs all T steps. The library copies into and out of
//! its own buffers inside the encoder, so arguments need `COPY_SRC` and results `COPY_DST`.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::forward::CallShape;
use crate::gpu::encode::{GpuForwardInput, GpuForwardOutput};
use crate::gpu::tensor::GpuTensor;
use crate::gpu::train::plan::Buf;
use crate::gpu::train::shape::{Phase, TrainShape};
use crate::gpu::train::trainer::GpuTrainer;

/// The output gradients of [`GpuTrainer::encode_backward`], in GPU buffers (each needs
/// `COPY_SRC`); an absent one is zero. Shapes are those of the matching results of
/// [`GpuTrainer::encode_forward`]: `grad_output` like `output`, `grad_h_n` like `h_n`, `grad_c_n`
/// like `c_n`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GpuOutputGrads<'a> {
    /// ∂L/∂output.
    pub grad_output: Option<&'a GpuTensor>,
    /// ∂L/∂h_n.
    pub grad_h_n: Option<&'a GpuTensor>,
    /// ∂L/∂c_n (LSTM, LSTMCell).
    pub grad_c_n: Option<&'a GpuTensor>,
}

/// Where [`GpuTrainer::encode_backward`] writes the gradients of the input and the initial
/// states (each buffer needs `COPY_DST`; `None`: not written): `grad_input` like `input`,
/// `grad_h0` like `h0`, `grad_c0` like `c0`. The parameter gradients always go to
/// [`GpuTrainer::grads_buffer`].
#[derive(Clone, Debug, Default)]
pub struct GpuInputGrads {
    /// ∂L/∂input.
    pub grad_input: Option<GpuTensor>,
    /// ∂L/∂h0.
    pub grad_h0: Option<GpuTensor>,
    /// ∂L/∂c0 (LSTM, LSTMCell).
    pub grad_c0: Option<GpuTensor>,
}

impl GpuTrainer {
    /// Records a training forward into `encoder`: like [`crate::GpuModel::encode_forward`] (same
    /// arguments, shapes and copies), but it also keeps, on the GPU, what a backward of this call
    /// needs. [`GpuTrainer::encode_backward`] recorded after it (in the same or a later
    /// submission, before another `encode_forward` of another shape) differentiates it.
    pub fn encode_forward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        args: &GpuForwardInput<'_>,
        out: &GpuForwardOutput,
    ) -> Result<()> {
        let config = self.config();
        let shape = CallShape::new(config, args.input.shape(), false)?;
        let (src, dst) = (wgpu::BufferUsages::COPY_SRC, wgpu::BufferUsages::COPY_DST);
        args.input.require("input", src, None)?;
        if let Some(h0) = args.h0 {
            h0.require("h0", src, Some(&shape.h))?;
        }
        out.output
            .require("output", dst, Some(&shape.output(shape.steps)))?;
        if let Some(h_n) = &out.h_n {
            h_n.require("h_n", dst, Some(&shape.h))?;
        }
        check_cell_tensors(self, &shape, args.c0, "c0", src)?;
        check_cell_tensors(self, &shape, out.c_n.as_ref(), "c_n", dst)?;
        self.context().check_alive()?;
        self.shape_in(&self.encode_shape, shape.steps, shape.batch, |ts| {
            let buf = |b: Buf| ts.buffer(self, b);
            let cells_at = shape.h.iter().product::<usize>() as u64 * 4;
            copy_in(encoder, Some(args.input), buf(Buf::Input), 0);
            copy_or_clear(encoder, args.h0, buf(Buf::Init), 0, cells_at);
            if let Some(c) = &shape.c {
                let len = c.iter().product::<usize>() as u64 * 4;
                copy_or_clear(encoder, args.c0, buf(Buf::Init), cells_at, len);
            }
            {
                let mut pass = begin(encoder, "wgpu-rnn.train.encode_forward");
                ts.record(self, &mut pass, Phase::Forward, false);
            }
            let top = Buf::Output(config.num_layers - 1);
            copy_out(encoder, buf(top), 0, Some(&out.output));
            copy_out(encoder, buf(Buf::Final), 0, out.h_n.as_ref());
            copy_out(encoder, buf(Buf::Final), cells_at, out.c_n.as_ref());
            ts.forward_recorded.store(true, Ordering::Relaxed);
            Ok(())
        })
    }

    /// Records the backward of the last [`GpuTrainer::encode_forward`] into `encoder`, from the
    /// output gradients in `grads`: the parameter gradients go to [`GpuTrainer::grads_buffer`]
    /// (overwriting it, or added to it with `accumulate`: gradient accumulation over several
    /// backwards), the input and initial-state gradients to `out`.
    pub fn encode_backward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        grads: &GpuOutputGrads<'_>,
        out: &GpuInputGrads,
        accumulate: bool,
    ) -> Result<()> {
        self.with_encoded(|ts, shape| {
            let src = wgpu::BufferUsages::COPY_SRC;
            if let Some(g) = grads.grad_output {
                g.require("grad_output", src, Some(&shape.output(shape.steps)))?;
            }
            if let Some(g) = grads.grad_h_n {
                g.require("grad_h_n", src, Some(&shape.h))?;
            }
            check_cell_tensors(self, shape, grads.grad_c_n, "grad_c_n", src)?;
            let top = Buf::DOut((self.config().num_layers - 1) % 2);
            copy_or_clear(
                encoder,
                grads.grad_output,
                ts.buffer(self, top),
                0,
                ts.plan.sizes.output,
            );
            self.record_backward(
                encoder,
                ts,
                shape,
                grads.grad_h_n,
                grads.grad_c_n,
                out,
                accumulate,
            )
        })
    }

    /// Records, after the last [`GpuTrainer::encode_forward`], `mse_loss(output, target)` (the
    /// mean over every element of the output; `target` like `output`) and the backward from its
    /// gradient (h_n and c_n get none), like [`GpuTrainer::encode_backward`]; writes the loss into
    /// `loss` (one element) when given.
    pub fn encode_mse_backward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        target: &GpuTensor,
        loss: Option<&GpuTensor>,
        accumulate: bool,
    ) -> Result<()> {
        self.with_encoded(|ts, shape| {
            let (src, dst) = (wgpu::BufferUsages::COPY_SRC, wgpu::BufferUsages::COPY_DST);
            target.require("target", src, Some(&shape.output(shape.steps)))?;
            if let Some(l) = loss {
                l.require("loss", dst, None)?;
                if l.numel() != 1 {
                    return Err(Error::ShapeMismatch {
                        name: "loss".into(),
                        actual: l.shape().to_vec(),
                        expected: "one element is needed".into(),
                    });
                }
            }
            // The encoded shape's loss entry compares every element (its rows run all T steps).
            copy_in(encoder, Some(target), ts.buffer(self, Buf::Target), 0);
            {
                let mut pass = begin(encoder, "wgpu-rnn.train.mse_loss");
                ts.record(self, &mut pass, Phase::Loss, false);
            }
            copy_out(encoder, ts.buffer(self, Buf::Loss), 0, loss);
            self.record_backward(
                encoder,
                ts,
                shape,
                None,
                None,
                &GpuInputGrads::default(),
                accumulate,
            )
        })
    }

    /// Runs `f` on the shape of the last encoded forward, or says none was recorded.
    fn with_encoded<T>(&self, f: impl FnOnce(&TrainShape, &CallShape) -> Result<T>) -> Result<T> {
        self.context().check_alive()?;
        let slot = self.encode_shape.lock().unwrap_or_else(|p| p.into_inner());
        let ts = slot
            .as_ref()
            .filter(|ts| ts.forward_recorded.load(Ordering::Relaxed))
            .ok_or_else(|| {
                Error::InvalidConfig(
                    "no training forward to differentiate: record GpuTrainer::encode_forward first"
                        .into(),
                )
            })?;
        let (t, n) = (ts.plan.seq_len, ts.plan.batch);
        let x = [t, n, self.config().input_size];
        let input: &[usize] = if self.config().kind.is_cell() {
            &x[1..]
        } else {
            &x
        };
        let shape = CallShape::new(self.config(), input, false)?;
        f(ts, &shape)
    }

    /// Copies the state gradients in, records the backward, and copies the input and
    /// initial-state gradients out.
    #[expect(clippy::too_many_arguments, reason = "one private recording step")]
    fn record_backward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        ts: &TrainShape,
        shape: &CallShape,
        grad_h_n: Option<&GpuTensor>,
        grad_c_n: Option<&GpuTensor>,
        out: &GpuInputGrads,
        accumulate: bool,
    ) -> Result<()> {
        let dst = wgpu::BufferUsages::COPY_DST;
        let x_shape = [shape.steps, shape.batch, self.config().input_size];
        if let Some(g) = &out.grad_input {
            g.require("grad_input", dst, None)?;
            if g.numel() != x_shape.iter().product::<usize>() {
                return Err(Error::ShapeMismatch {
                    name: "grad_input".into(),
                    actual: g.shape().to_vec(),
                    expected: "the input's shape is needed".into(),
                });
            }
        }
        if let Some(g) = &out.grad_h0 {
            g.require("grad_h0", dst, Some(&shape.h))?;
        }
        check_cell_tensors(self, shape, out.grad_c0.as_ref(), "grad_c0", dst)?;
        let states = ts.buffer(self, Buf::StateGrads);
        let h_bytes = shape.h.iter().product::<usize>() as u64 * 4;
        let c_bytes = shape
            .c
            .as_ref()
            .map_or(0, |c| c.iter().product::<usize>() as u64 * 4);
        let final_at = h_bytes + c_bytes;
        copy_or_clear(encoder, grad_h_n, states, final_at, h_bytes);
        if c_bytes > 0 {
            copy_or_clear(encoder, grad_c_n, states, final_at + h_bytes, c_bytes);
        }
        {
            let mut pass = begin(encoder, "wgpu-rnn.train.encode_backward");
            // PyTorch computes no gradient for an input that does not ask for one; neither do we.
            let phase = if out.grad_input.is_some() {
                Phase::Backward
            } else {
                Phase::BackwardToParameters
            };
            ts.record(self, &mut pass, phase, accumulate);
        }
        copy_out(
            encoder,
            ts.buffer(self, Buf::GradInput),
            0,
            out.grad_input.as_ref(),
        );
        copy_out(encoder, states, 0, out.grad_h0.as_ref());
        copy_out(encoder, states, h_bytes, out.grad_c0.as_ref());
        Ok(())
    }
}

/// Checks a cell-state tensor (`c0`, `c_n` or their gradients): its shape for LSTM, its absence
/// otherwise.
fn check_cell_tensors(
    trainer: &GpuTrainer,
    shape: &CallShape,
    t: Option<&GpuTensor>,
    name: &str,
    usage: wgpu::BufferUsages,
) -> Result<()> {
    match (&shape.c, t) {
        (_, None) => Ok(()),
        (Some(c), Some(t)) => t.require(name, usage, Some(c)),
        (None, Some(_)) => Err(Error::UnexpectedTensor {
            name: name.into(),
            context: format!(" for {}", trainer.config().kind),
            expected: "cell states only for LSTM and LSTMCell".into(),
        }),
    }
}

fn begin<'e>(encoder: &'e mut wgpu::CommandEncoder, label: &str) -> wgpu::ComputePass<'e> {
    encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    })
}

/// Copies all of `src` to `dst` at byte `at`.
fn copy_in(
    encoder: &mut wgpu::CommandEncoder,
    src: Option<&GpuTensor>,
    dst: &wgpu::Buffer,
    at: u64,
) {
    if let Some(t) = src {
        encoder.copy_buffer_to_buffer(t.buffer(), t.offset(), dst, at, t.byte_len());
    }
}

/// Copies `src` to `dst` at byte `at`, or clears `len` bytes there when `src` is absent.
fn copy_or_clear(
    encoder: &mut wgpu::CommandEncoder,
    src: Option<&GpuTensor>,
    dst: &wgpu::Buffer,
    at: u64,
    len: u64,
) {
    match src {
        Some(_) => copy_in(encoder, src, dst, at),
        None if len > 0 => encoder.clear_buffer(dst, at, Some(len)),
        None => {}
    }
}

/// Copies `dst.byte_len()` bytes of `src` from byte `at` into `dst`, when given.
fn copy_out(
    encoder: &mut wgpu::CommandEncoder,
    src: &wgpu::Buffer,
    at: u64,
    dst: Option<&GpuTensor>,
) {
    if let Some(t) = dst {
        encoder.copy_buffer_to_buffer(src, at, t.buffer(), t.offset(), t.byte_len());
    }
}
