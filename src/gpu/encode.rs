//! Recording a whole forward into an application's command encoder, from GPU tensors to GPU
//! tensors: [`GpuModel::encode_forward`] with [`GpuForwardInput`] and [`GpuForwardOutput`].

use crate::error::{Error, Result};
use crate::forward::CallShape;
use crate::gpu::model::GpuModel;
use crate::gpu::tensor::GpuTensor;
use crate::gpu::workspace::Workspace;

/// The arguments of [`GpuModel::encode_forward`], in GPU buffers (each needs `COPY_SRC`).
///
/// Layouts are PyTorch's, **always time-major** (a model's `batch_first` applies only to the host
/// [`GpuModel::forward`]): with `T` steps, `N` rows, `I = input_size`, `D` directions, `L` layers,
/// `H = hidden_size`, `H_out = proj_size` or `H`, all `f32`, row-major:
/// - `input`: (T, N, I), or unbatched (T, I); cells: (N, I) or (I);
/// - `h0`: (D·L, N, H_out), or (D·L, H_out) for unbatched input; cells: (N, H) or (H); zeros when
///   absent;
/// - `c0` (LSTM and LSTMCell only): (D·L, N, H), or (D·L, H); cells: (N, H) or (H); zeros when
///   absent; `h0` and `c0` come together or neither ([`Error::IncompleteState`]).
///
/// Every row runs all T steps (`lengths` are a host-[`forward`](GpuModel::forward) feature).
#[derive(Clone, Copy, Debug)]
pub struct GpuForwardInput<'a> {
    /// The input sequence (or cell input).
    pub input: &'a GpuTensor,
    /// The initial hidden state.
    pub h0: Option<&'a GpuTensor>,
    /// The initial cell state (LSTM, LSTMCell).
    pub c0: Option<&'a GpuTensor>,
}

impl<'a> GpuForwardInput<'a> {
    /// Just an input; zero initial state.
    pub fn new(input: &'a GpuTensor) -> Self {
        Self {
            input,
            h0: None,
            c0: None,
        }
    }

    /// Sets the initial hidden state.
    pub fn with_h0(mut self, h0: &'a GpuTensor) -> Self {
        self.h0 = Some(h0);
        self
    }

    /// Sets the initial cell state.
    pub fn with_c0(mut self, c0: &'a GpuTensor) -> Self {
        self.c0 = Some(c0);
        self
    }
}

/// Where [`GpuModel::encode_forward`] writes its results (each buffer needs `COPY_DST`); shapes as
/// on [`GpuForwardInput`]:
/// - `output`: (T, N, D·H_out), or (T, D·H_out) unbatched; cells: the new state (N, H) or (H);
/// - `h_n`: like `h0`; `c_n`: like `c0` (LSTM, LSTMCell). `None`: not written.
#[derive(Clone, Debug)]
pub struct GpuForwardOutput {
    /// Every step's top-layer hidden state (the new state for cells).
    pub output: GpuTensor,
    /// The final hidden state of every layer and direction.
    pub h_n: Option<GpuTensor>,
    /// The final cell state of every layer and direction (LSTM, LSTMCell).
    pub c_n: Option<GpuTensor>,
}

impl GpuModel {
    /// Allocates the results of a call on an input of shape `input_shape` (see
    /// [`GpuForwardInput`]): `output`, `h_n` and, for LSTM, `c_n`, each with
    /// [`GpuTensor::USAGE`].
    pub fn forward_output_for(&self, input_shape: &[usize]) -> Result<GpuForwardOutput> {
        let shape = CallShape::new(self.config(), input_shape, false)?;
        let ctx = self.context();
        Ok(GpuForwardOutput {
            output: GpuTensor::zeros(ctx, "wgpu-rnn.output", shape.output(shape.steps))?,
            h_n: Some(GpuTensor::zeros(ctx, "wgpu-rnn.h_n", shape.h)?),
            c_n: match shape.c {
                Some(c) => Some(GpuTensor::zeros(ctx, "wgpu-rnn.c_n", c)?),
                None => None,
            },
        })
    }

    /// Records a whole forward into `encoder`, reading `args` from GPU buffers and writing `out`:
    /// no submit, no readback, no wait. The results are there once the application submits
    /// `encoder`; it can bind `out`'s buffers in its own passes recorded after this call.
    ///
    /// Shapes and layouts: see [`GpuForwardInput`] and [`GpuForwardOutput`] (time-major, every row
    /// runs all T steps). Arguments need `COPY_SRC`, results `COPY_DST`: the model copies into and
    /// out of its own buffers inside `encoder`, so its bind groups are built once.
    ///
    /// The first call of a shape (T, N) allocates this model's buffers, table and bind groups for
    /// it; later calls of that shape create nothing. Several calls may be recorded into one
    /// encoder; they run in recording order. These buffers are separate from those of the host
    /// [`GpuModel::forward`], so mixing the two never disturbs either.
    pub fn encode_forward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        args: &GpuForwardInput<'_>,
        out: &GpuForwardOutput,
    ) -> Result<()> {
        let config = self.config();
        let shape = CallShape::new(config, args.input.shape(), false)?;
        let src = wgpu::BufferUsages::COPY_SRC;
        let dst = wgpu::BufferUsages::COPY_DST;
        args.input.require("input", src, None)?;
        shape.check_state_pair(config, args.h0.is_some(), args.c0.is_some())?;
        if let Some(h0) = args.h0 {
            h0.require("h0", src, Some(&shape.h))?;
        }
        out.output
            .require("output", dst, Some(&shape.output(shape.steps)))?;
        if let Some(h_n) = &out.h_n {
            h_n.require("h_n", dst, Some(&shape.h))?;
        }
        match &shape.c {
            Some(c) => {
                if let Some(c0) = args.c0 {
                    c0.require("c0", src, Some(c))?;
                }
                if let Some(c_n) = &out.c_n {
                    c_n.require("c_n", dst, Some(c))?;
                }
            }
            None => {
                if args.c0.is_some() || out.c_n.is_some() {
                    return Err(Error::UnexpectedTensor {
                        name: if args.c0.is_some() { "c0" } else { "c_n" }.into(),
                        context: format!(" for {}", config.kind),
                        expected: "c0 and c_n only for LSTM and LSTMCell".into(),
                    });
                }
            }
        }
        self.context().check_alive()?;

        let mut cache = self.encode_cache.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(&*cache, Some(w) if w.max_steps == shape.steps && w.batch == shape.batch) {
            *cache = None;
            *cache = Some(Box::new(Workspace::new(self, shape.steps, shape.batch)?));
        }
        let ws = cache.as_mut().expect("filled above");
        let b = &ws.buffers;
        let input = args.input;
        encoder.copy_buffer_to_buffer(input.buffer(), input.offset(), &b.x, 0, input.byte_len());
        match args.h0 {
            Some(h0) => {
                encoder.copy_buffer_to_buffer(h0.buffer(), h0.offset(), &b.h[0], 0, h0.byte_len())
            }
            None => encoder.clear_buffer(&b.h[0], 0, None),
        }
        if let Some(c) = &b.c {
            match args.c0 {
                Some(c0) => {
                    encoder.copy_buffer_to_buffer(c0.buffer(), c0.offset(), c, 0, c0.byte_len())
                }
                None => encoder.clear_buffer(c, 0, None),
            }
        }
        ws.record(self, encoder, shape.steps)?;
        let b = &ws.buffers;
        let o = &out.output;
        encoder.copy_buffer_to_buffer(ws.output(self), 0, o.buffer(), o.offset(), o.byte_len());
        if let Some(h_n) = &out.h_n {
            encoder.copy_buffer_to_buffer(&b.h[0], 0, h_n.buffer(), h_n.offset(), h_n.byte_len());
        }
        if let (Some(c), Some(c_n)) = (&b.c, &out.c_n) {
            encoder.copy_buffer_to_buffer(c, 0, c_n.buffer(), c_n.offset(), c_n.byte_len());
        }
        Ok(())
    }
}
