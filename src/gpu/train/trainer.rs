//! [`GpuTrainer`]: a model's parameters, gradients and optimizer state on the GPU, with the
//! training forward and backward of any call shape as one submit.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::backward::{Gradients, GroupGrads, OutputGrads, PreparedGrads, RawGradients};
use crate::config::{Family, RnnConfig};
use crate::error::{Error, Result};
use crate::forward::{ForwardInput, ForwardOutput, Prepared, transpose01};
use crate::gpu::context::GpuContext;
use crate::gpu::train::kernels::{LossParams, TrainKernel, TrainPipeline};
use crate::gpu::train::layout::ParamLayout;
use crate::gpu::train::optimizer::GpuOptimizer;
use crate::gpu::train::plan::Buf;
use crate::gpu::train::shape::{Phase, TrainShape, USAGE, write_f32};
use crate::model::Model;
use crate::tensor::Tensor;

/// A [`Model`] being trained on a GPU: its parameters in one flat buffer (PyTorch's names and
/// shapes, see [`ParamLayout`]), their gradients in another of the same layout, and, once set, an
/// optimizer's state. [`GpuTrainer::forward_backward`] runs a training forward and its backward
/// in one submit; [`GpuTrainer::step`] updates the parameters in place.
#[derive(Debug)]
pub struct GpuTrainer {
    context: Arc<GpuContext>,
    config: RnnConfig,
    layout: ParamLayout,
    params: wgpu::Buffer,
    grads: wgpu::Buffer,
    pipelines: BTreeMap<TrainKernel, TrainPipeline>,
    /// The buffers of the last host call's shape (boxed: a trainer stays small to move).
    shape: Mutex<Option<Box<TrainShape>>>,
    /// The buffers of the last shape recorded into an application's encoder.
    pub(crate) encode_shape: Mutex<Option<Box<TrainShape>>>,
    pub(crate) optimizer: Mutex<Option<GpuOptimizer>>,
}

impl GpuTrainer {
    /// Uploads `model`'s parameters to `context`'s device and builds the training pipelines its
    /// configuration needs. The gradients start at zero.
    pub fn new(model: &Model, context: Arc<GpuContext>) -> Result<Self> {
        Self::with_extra_parameters(model, context, &[])
    }

    /// [`GpuTrainer::new`] with `extras`, parameters the application trains beside the model
    /// (a linear head, say): they sit after the model's in the flat parameter and gradient
    /// buffers ([`GpuTrainer::extra_offset`]), the application's shaders compute their gradients
    /// into [`GpuTrainer::grads_buffer`], and the optimizer updates them with the model's.
    pub fn with_extra_parameters(
        model: &Model,
        context: Arc<GpuContext>,
        extras: &[(&str, &Tensor)],
    ) -> Result<Self> {
        let config = model.config().clone();
        if !config.is_pytorch() {
            return Err(Error::Unsupported(format!(
                "training {config} on the GPU: the training kernels compute PyTorch's semantics only so far"
            )));
        }
        let names: Vec<(String, Vec<usize>)> = extras
            .iter()
            .map(|(n, t)| (n.to_string(), t.shape().to_vec()))
            .collect();
        if let Some((name, _)) = names
            .iter()
            .find(|(n, _)| ParamLayout::new(&config).entry(n).is_some())
        {
            return Err(Error::InvalidConfig(format!(
                "extra parameter '{name}' has the name of one of the model's parameters"
            )));
        }
        let layout = ParamLayout::new(&config).with_extras(&names);
        let tensors: Vec<&Tensor> = extras.iter().map(|(_, t)| *t).collect();
        let flat = layout.pack(model, &tensors);
        let family = config.family();
        let mut kernels = vec![
            TrainKernel::Gemm,
            TrainKernel::step_train(family),
            TrainKernel::step_backward(family),
            TrainKernel::MseLoss,
        ];
        if config.proj_size > 0 {
            kernels.extend([
                TrainKernel::LstmProjectionTrain,
                TrainKernel::LstmProjectionBackward,
            ]);
        }
        let label = format!("building the training of {config} on the GPU");
        let (params, grads, pipelines) = context.scoped(&label, || {
            let params = context.create_buffer_with(
                "wgpu-rnn.train.params",
                bytemuck::cast_slice(&flat),
                USAGE,
            );
            let zeros = vec![0f32; flat.len()];
            let grads = context.create_buffer_with(
                "wgpu-rnn.train.grads",
                bytemuck::cast_slice(&zeros),
                USAGE,
            );
            let pipelines: BTreeMap<TrainKernel, TrainPipeline> = kernels
                .iter()
                .map(|&k| (k, TrainPipeline::new(context.device(), k, &config)))
                .collect();
            (params, grads, pipelines)
        })?;
        context.count_pipelines(pipelines.len() as u64);
        Ok(Self {
            context,
            config,
            layout,
            params,
            grads,
            pipelines,
            shape: Mutex::new(None),
            encode_shape: Mutex::new(None),
            optimizer: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// The context the trainer runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.context
    }

    /// The flat layout of the parameters (and gradients).
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The flat parameters (f32, [`ParamLayout`]); bind it to read the weights in an app pass.
    pub fn params_buffer(&self) -> &wgpu::Buffer {
        &self.params
    }

    /// The flat gradients (f32, [`ParamLayout`]).
    pub fn grads_buffer(&self) -> &wgpu::Buffer {
        &self.grads
    }

    /// The pipeline of `kernel`.
    pub(crate) fn pipeline(&self, kernel: TrainKernel) -> &TrainPipeline {
        self.pipelines
            .get(&kernel)
            .expect("plans use only the kernels the trainer built for its configuration")
    }

    /// Bytes of GPU memory the trainer holds: parameters, gradients, optimizer state, and the
    /// buffers of the last host call's shape and of the last encoded shape.
    pub fn gpu_buffer_bytes(&self) -> u64 {
        let shape = |slot: &Mutex<Option<Box<TrainShape>>>| {
            let s = slot.lock().unwrap_or_else(|p| p.into_inner());
            s.as_ref().map_or(0, |s| s.bytes())
        };
        self.params.size()
            + self.grads.size()
            + self.optimizer_state_bytes()
            + shape(&self.shape)
            + shape(&self.encode_shape)
    }

    /// Runs `f` on the host calls' shape `(seq_len, batch)`, building its buffers on the first
    /// call of that shape.
    pub(crate) fn with_shape<T>(
        &self,
        seq_len: usize,
        batch: usize,
        f: impl FnOnce(&TrainShape) -> Result<T>,
    ) -> Result<T> {
        self.shape_in(&self.shape, seq_len, batch, f)
    }

    /// Runs `f` on the shape `(seq_len, batch)` kept in `slot`, building it when `slot` holds
    /// another.
    pub(crate) fn shape_in<T>(
        &self,
        slot: &Mutex<Option<Box<TrainShape>>>,
        seq_len: usize,
        batch: usize,
        f: impl FnOnce(&TrainShape) -> Result<T>,
    ) -> Result<T> {
        let mut cache = slot.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(&*cache, Some(s) if s.plan.seq_len == seq_len && s.plan.batch == batch) {
            *cache = None;
            *cache = Some(Box::new(TrainShape::new(self, seq_len, batch)?));
        }
        f(cache.as_ref().expect("filled above"))
    }

    /// Runs `model` forward on `args` and back from `grads` on the GPU in one submit, as
    /// [`Model::backward_reference`] does on the CPU: same arguments, shapes, errors and results.
    /// The parameter gradients also stay in [`GpuTrainer::grads_buffer`] (overwritten, as by
    /// `zero_grad()` then `backward()`), ready for [`GpuTrainer::step`].
    pub fn forward_backward(
        &self,
        args: &ForwardInput<'_>,
        grads: &OutputGrads<'_>,
    ) -> Result<(ForwardOutput, Gradients)> {
        let config = &self.config;
        let p = Prepared::new(config, args)?;
        let g = PreparedGrads::new(config, &p, grads)?;
        self.context.check_alive()?;
        let ctx = &self.context;
        let lstm = config.family() == Family::Lstm;
        let (t_len, n) = (p.seq_len, p.batch);
        let layers = config.num_layers;
        self.with_shape(t_len, n, |shape| {
            let buf = |b: Buf| shape.buffer(self, b);
            self.write_call(shape, &p);
            write_f32(ctx, buf(Buf::DOut((layers - 1) % 2)), 0, &g.output);
            let final_at = p.h0.len() + p.c0.len();
            write_f32(ctx, buf(Buf::StateGrads), final_at, &g.h_n);
            write_f32(ctx, buf(Buf::StateGrads), final_at + g.h_n.len(), &g.c_n);

            let mut encoder = ctx.encoder("wgpu-rnn.train.forward_backward");
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("wgpu-rnn.train.forward_backward"),
                    timestamp_writes: None,
                });
                shape.record(self, &mut pass, Phase::Forward, false);
                shape.record(self, &mut pass, Phase::Backward, false);
            }
            // Read back: output, h_n | c_n, grad_input, grad_h0 | grad_c0, the parameter grads.
            let width = config.num_directions() * config.output_hidden();
            let pieces: [(Buf, usize); 5] = [
                (Buf::Output(layers - 1), p.output_steps() * n * width),
                (Buf::Final, final_at),
                (Buf::GradInput, p.x.len()),
                (Buf::StateGrads, final_at),
                (Buf::Grads, self.layout.len()),
            ];
            let total: usize = pieces.iter().map(|(_, len)| len).sum();
            let staging = ctx.create_checked_buffer(
                "the training readback",
                "wgpu-rnn.train.staging",
                total as u64 * 4,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            )?;
            let mut at = 0u64;
            for (b, len) in pieces {
                let bytes = len as u64 * 4;
                encoder.copy_buffer_to_buffer(buf(b), 0, &staging, at, bytes);
                at += bytes;
            }
            let label = format!("the training forward and backward of {config}");
            let data = ctx.submit_and_read(&label, encoder, &staging, at)?;
            let mut rest = data.as_slice();
            let mut take = |len: usize| {
                let (head, tail) = rest.split_at(len);
                rest = tail;
                head.to_vec()
            };
            let output = take(pieces[0].1);
            let states = take(final_at);
            let grad_input = take(p.x.len());
            let grad_states = take(final_at);
            let flat = take(self.layout.len());
            let (h_n, c_n) = states.split_at(p.h0.len());
            let out = p.finish(config, output, h_n.to_vec(), lstm.then(|| c_n.to_vec()));
            let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let raw = RawGradients {
                input: wide(&grad_input),
                h0: wide(&grad_states[..p.h0.len()]),
                c0: wide(&grad_states[p.h0.len()..]),
                params: self.group_grads(&flat),
            };
            Ok((out, Gradients::from_raw(config, &p, raw)))
        })
    }

    /// Writes a call's input, lengths and initial states into `shape`'s buffers.
    fn write_call(&self, shape: &TrainShape, p: &Prepared) {
        let ctx = &self.context;
        let buf = |b: Buf| shape.buffer(self, b);
        write_f32(ctx, buf(Buf::Input), 0, &p.x);
        let lengths: Vec<u32> = (0..p.batch).map(|row| p.length(row) as u32).collect();
        ctx.queue()
            .write_buffer(buf(Buf::Lengths), 0, bytemuck::cast_slice(&lengths));
        write_f32(ctx, buf(Buf::Init), 0, &p.h0);
        write_f32(ctx, buf(Buf::Init), p.h0.len(), &p.c0);
    }

    /// One training step in one submit: the training forward on `args`, the MSE loss against
    /// `target` (the output's shape) and its gradient, the backward (`h_n` and `c_n` get no
    /// gradient), then, when an optimizer is set ([`GpuTrainer::set_optimizer`]), its step.
    /// Returns the loss, `mse_loss(output, target)`, as the forward computed it.
    pub fn train_step(&self, args: &ForwardInput<'_>, target: &Tensor) -> Result<f64> {
        let config = &self.config;
        let p = Prepared::new(config, args)?;
        let call = p.call_shape();
        let t_out = p.output_steps();
        let want = call.output(t_out);
        if target.shape() != want.as_slice() {
            return Err(Error::ShapeMismatch {
                name: "target".into(),
                actual: target.shape().to_vec(),
                expected: format!("{config} with this input gives an output of shape {want:?}"),
            });
        }
        self.context.check_alive()?;
        let ctx = &self.context;
        let width = config.num_directions() * config.output_hidden();
        let time_major = if call.batched && call.batch_first {
            transpose01(target.data(), p.batch, t_out, width)
        } else {
            target.data().to_vec()
        };
        self.with_shape(p.seq_len, p.batch, |shape| {
            let buf = |b: Buf| shape.buffer(self, b);
            self.write_call(shape, &p);
            write_f32(ctx, buf(Buf::Target), 0, &time_major);
            let final_at = p.h0.len() + p.c0.len();
            let zeros = vec![0.0; final_at];
            write_f32(ctx, buf(Buf::StateGrads), final_at, &zeros);
            let total = (p.seq_len * p.batch * width) as u32;
            let count = (t_out * p.batch * width) as u32;
            shape.write_loss_params(ctx, &LossParams { count, total });
            let mut encoder = ctx.encoder("wgpu-rnn.train.train_step");
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("wgpu-rnn.train.train_step"),
                    timestamp_writes: None,
                });
                shape.record(self, &mut pass, Phase::Forward, false);
                shape.record(self, &mut pass, Phase::Loss, false);
                shape.record(self, &mut pass, Phase::Backward, false);
            }
            let has_optimizer = self
                .optimizer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some();
            if has_optimizer {
                self.encode_optimizer_step(&mut encoder)?;
            }
            let staging = ctx.create_checked_buffer(
                "the loss readback",
                "wgpu-rnn.train.loss_read",
                4,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            )?;
            encoder.copy_buffer_to_buffer(buf(Buf::Loss), 0, &staging, 0, 4);
            let label = format!("a training step of {config}");
            let loss = ctx.submit_and_read(&label, encoder, &staging, 4)?;
            Ok(f64::from(loss[0]))
        })
    }

    /// Splits flat gradients into the per-group layout of [`Model::groups`].
    fn group_grads(&self, flat: &[f32]) -> Vec<GroupGrads> {
        let mut tensors = self.layout.unpack(flat);
        tensors.truncate(self.layout.entries().len());
        let per_group = tensors.len() / self.config.num_groups();
        tensors
            .chunks(per_group)
            .map(|group| {
                let find = |prefix: &str| {
                    group
                        .iter()
                        .find(|(name, _)| name.starts_with(prefix))
                        .map(|(_, t)| t.data().iter().map(|&x| x as f64).collect())
                };
                GroupGrads {
                    weight_ih: find("weight_ih").expect("every group has weight_ih"),
                    weight_hh: find("weight_hh").expect("every group has weight_hh"),
                    bias_ih: find("bias_ih"),
                    bias_hh: find("bias_hh"),
                    weight_hr: find("weight_hr"),
                }
            })
            .collect()
    }

    /// The first element of the extra parameter `name` in the flat parameter and gradient
    /// buffers (a multiple of 64), if there is one by that name.
    pub fn extra_offset(&self, name: &str) -> Option<usize> {
        self.layout
            .extras()
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.offset)
    }

    /// Reads every parameter back (the model's then the extras), by name.
    pub fn read_parameters(&self) -> Result<Vec<(String, Tensor)>> {
        let flat = self.read_flat(&self.params, "reading the parameters")?;
        Ok(self.layout.unpack(&flat))
    }

    /// Reads the parameter gradients back, under the parameters' `state_dict` names.
    pub fn read_grads(&self) -> Result<Vec<(String, Tensor)>> {
        let flat = self.read_flat(&self.grads, "reading the parameter gradients")?;
        Ok(self.layout.unpack(&flat))
    }

    /// Reads the parameters back as a [`Model`] (to save it, or run it with
    /// [`crate::GpuModel`] or the reference).
    pub fn model(&self) -> Result<Model> {
        let flat = self.read_flat(&self.params, "reading the trained parameters")?;
        self.layout.to_model(&self.config, &flat)
    }

    /// Reads a flat buffer of the parameter layout back.
    pub(crate) fn read_flat(&self, buffer: &wgpu::Buffer, what: &str) -> Result<Vec<f32>> {
        let bytes = self.layout.len() as u64 * 4;
        let staging = self.context.create_checked_buffer(
            what,
            "wgpu-rnn.train.read",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut encoder = self.context.encoder(what);
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.context.submit_and_read(what, encoder, &staging, bytes)
    }
}
