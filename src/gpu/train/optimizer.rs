//! The optimizer on the GPU: [`GpuTrainer::set_optimizer`], then [`GpuTrainer::step`] (or
//! [`GpuTrainer::encode_optimizer_step`] into an application's encoder) updates every parameter
//! in place with PyTorch's formulas: one `optimizer_prepare` dispatch (the step count, Adam's bias
//! corrections, and with clipping the gradient norm and scale), then one `sgd_step` or `adam_step`
//! dispatch over the flat parameters.

use crate::error::Result;
use crate::gpu::train::kernels::{
    OPT_CLIP, OPT_DECOUPLED, OPT_NESTEROV, OPTIMIZER_WORKGROUP, OptParams, TrainKernel,
    TrainPipeline,
};
use crate::gpu::train::shape::USAGE;
use crate::gpu::train::trainer::GpuTrainer;
use crate::optim::Optimizer;

/// Floats of the scalars buffer (see `shaders/train/optim_common.wgsl`).
const SCALARS: usize = 8;

/// An optimizer's configuration, state and pipelines on the GPU.
#[derive(Debug)]
pub(crate) struct GpuOptimizer {
    config: Optimizer,
    clip: Option<f64>,
    uniform: wgpu::Buffer,
    /// The momentum buffer, or Adam's m then v.
    state: wgpu::Buffer,
    scalars: wgpu::Buffer,
    prepare: TrainPipeline,
    step: TrainPipeline,
    prepare_group: wgpu::BindGroup,
    step_group: wgpu::BindGroup,
    /// Workgroups of the step dispatch (x, y).
    grid: (u32, u32),
}

impl GpuOptimizer {
    fn params(&self, count: usize) -> OptParams {
        let mut flags = 0;
        let mut p = OptParams {
            count: u32::try_from(count).expect("parameter count fits the device"),
            lr: self.config.lr() as f32,
            max_norm: self.clip.unwrap_or(0.0) as f32,
            ..OptParams::default()
        };
        match self.config {
            Optimizer::Sgd(s) => {
                p.momentum = s.momentum as f32;
                p.dampening = s.dampening as f32;
                p.one_minus_dampening = (1.0 - s.dampening) as f32;
                p.weight_decay = s.weight_decay as f32;
                if s.nesterov {
                    flags |= OPT_NESTEROV;
                }
            }
            Optimizer::Adam(a) => {
                p.beta1 = a.betas.0 as f32;
                p.beta2 = a.betas.1 as f32;
                p.eps = a.eps as f32;
                p.one_minus_beta1 = (1.0 - a.betas.0) as f32;
                p.one_minus_beta2 = (1.0 - a.betas.1) as f32;
                p.log_beta1 = a.betas.0.ln() as f32;
                p.log_beta2 = a.betas.1.ln() as f32;
                p.weight_decay = a.weight_decay as f32;
                if a.decoupled_weight_decay {
                    flags |= OPT_DECOUPLED;
                }
            }
        }
        if self.clip.is_some() {
            flags |= OPT_CLIP;
        }
        p.flags = flags;
        p
    }
}

impl GpuTrainer {
    /// Sets the optimizer (and `clip`: `clip_grad_norm_`'s max_norm, applied before each step)
    /// with fresh state: no steps taken, zero momentum buffers or moments.
    pub fn set_optimizer(&self, config: impl Into<Optimizer>, clip: Option<f64>) -> Result<()> {
        let config = config.into();
        config.validate()?;
        if let Some(c) = clip.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return Err(crate::Error::InvalidConfig(format!(
                "clip_grad_norm max_norm = {c}: it must be a finite number > 0"
            )));
        }
        let ctx = self.context();
        let count = self.layout().len();
        let kernel = match config {
            Optimizer::Sgd(_) => TrainKernel::SgdStep,
            Optimizer::Adam(_) => TrainKernel::AdamStep,
        };
        let moments = if kernel == TrainKernel::AdamStep {
            2
        } else {
            1
        };
        let groups = (count as u32).div_ceil(OPTIMIZER_WORKGROUP);
        let max = ctx.limits().max_compute_workgroups_per_dimension;
        let grid = (groups.min(max), groups.div_ceil(max));
        let label = format!("setting up the optimizer of {}", self.config());
        let built = ctx.scoped(&label, || {
            let zeros = vec![0f32; count * moments];
            let state = ctx.create_buffer_with(
                "wgpu-rnn.train.optimizer_state",
                bytemuck::cast_slice(&zeros),
                USAGE,
            );
            let scalars = ctx.create_buffer_with(
                "wgpu-rnn.train.optimizer_scalars",
                bytemuck::cast_slice(&[0f32; SCALARS]),
                USAGE,
            );
            let uniform = ctx.create_buffer(
                "wgpu-rnn.train.optimizer_uniform",
                256,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let prepare =
                TrainPipeline::new(ctx.device(), TrainKernel::OptimizerPrepare, self.config());
            let step = TrainPipeline::new(ctx.device(), kernel, self.config());
            fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
                wgpu::BindGroupEntry {
                    binding,
                    resource: buffer.as_entire_binding(),
                }
            }
            let uniform_entry = wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &uniform,
                    offset: 0,
                    size: wgpu::BufferSize::new(kernel.uniform_size()),
                }),
            };
            let prepare_group = ctx.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(TrainKernel::OptimizerPrepare.label()),
                layout: &prepare.layout,
                entries: &[
                    uniform_entry.clone(),
                    entry(1, self.grads_buffer()),
                    entry(2, &scalars),
                ],
            });
            let step_group = ctx.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.label()),
                layout: &step.layout,
                entries: &[
                    uniform_entry,
                    entry(1, self.params_buffer()),
                    entry(2, self.grads_buffer()),
                    entry(3, &state),
                    entry(4, &scalars),
                ],
            });
            GpuOptimizer {
                state,
                config,
                clip,
                uniform,
                scalars,
                prepare,
                step,
                prepare_group,
                step_group,
                grid,
            }
        })?;
        ctx.count_pipelines(2);
        ctx.queue()
            .write_buffer(&built.uniform, 0, bytemuck::bytes_of(&built.params(count)));
        *self.optimizer.lock().unwrap_or_else(|p| p.into_inner()) = Some(built);
        Ok(())
    }

    /// Bytes of the optimizer's state (momentum buffers or moments), 0 without an optimizer.
    pub fn optimizer_state_bytes(&self) -> u64 {
        let slot = self.optimizer.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .map_or(0, |o| o.state.size() + o.scalars.size())
    }

    /// Changes the learning rate (a schedule between steps). Like every host write, it takes
    /// effect at the next submit: record one optimizer step per submission when it changes.
    pub fn set_lr(&self, lr: f64) -> Result<()> {
        let mut slot = self.optimizer.lock().unwrap_or_else(|p| p.into_inner());
        let opt = slot.as_mut().ok_or_else(no_optimizer)?;
        opt.config.set_lr(lr);
        opt.config.validate()?;
        let params = opt.params(self.layout().len());
        self.context()
            .queue()
            .write_buffer(&opt.uniform, 0, bytemuck::bytes_of(&params));
        Ok(())
    }

    /// Records one optimizer step into `encoder`: the parameters change in place when it runs,
    /// from the gradients in [`GpuTrainer::grads_buffer`] (clipped first when set up so).
    pub fn encode_optimizer_step(&self, encoder: &mut wgpu::CommandEncoder) -> Result<()> {
        self.context().check_alive()?;
        let slot = self.optimizer.lock().unwrap_or_else(|p| p.into_inner());
        let opt = slot.as_ref().ok_or_else(no_optimizer)?;
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("wgpu-rnn.train.optimizer"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&opt.prepare.pipeline);
        pass.set_bind_group(0, &opt.prepare_group, &[0]);
        pass.dispatch_workgroups(1, 1, 1);
        pass.set_pipeline(&opt.step.pipeline);
        pass.set_bind_group(0, &opt.step_group, &[0]);
        pass.dispatch_workgroups(opt.grid.0, opt.grid.1, 1);
        Ok(())
    }

    /// One optimizer step now (one submit, no wait).
    pub fn step(&self) -> Result<()> {
        let mut encoder = self.context().encoder("wgpu-rnn.train.step");
        self.encode_optimizer_step(&mut encoder)?;
        let label = format!("the optimizer step of {}", self.config());
        self.context().submit(&label, encoder)
    }

    /// The optimizer's scalars: steps taken and, with clipping, the gradient norm before the last
    /// clip (waits for the GPU).
    pub fn optimizer_state(&self) -> Result<(u64, Option<f64>)> {
        let slot = self.optimizer.lock().unwrap_or_else(|p| p.into_inner());
        let opt = slot.as_ref().ok_or_else(no_optimizer)?;
        let bytes = (SCALARS * 4) as u64;
        let ctx = self.context();
        let staging = ctx.create_checked_buffer(
            "the optimizer scalars",
            "wgpu-rnn.train.scalars_read",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut encoder = ctx.encoder("wgpu-rnn.train.scalars_read");
        encoder.copy_buffer_to_buffer(&opt.scalars, 0, &staging, 0, bytes);
        let s = ctx.submit_and_read("reading the optimizer scalars", encoder, &staging, bytes)?;
        Ok((s[0] as u64, opt.clip.map(|_| s[4] as f64)))
    }
}

fn no_optimizer() -> crate::Error {
    crate::Error::InvalidConfig("no optimizer is set: call GpuTrainer::set_optimizer first".into())
}
