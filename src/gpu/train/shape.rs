//! The buffers, uniform table and bind groups of one training call shape (T, N), built once and
//! reused by every call of that shape; and the recording of its dispatches.

use std::collections::HashMap;

use crate::error::Result;
use crate::gpu::context::GpuContext;
use crate::gpu::plan::PlanLimits;
use crate::gpu::train::kernels::{LossParams, TrainKernel};
use crate::gpu::train::plan::{Buf, TrainDispatch, TrainPlan};
use crate::gpu::train::trainer::GpuTrainer;

/// Usage of every training buffer: bound as storage, written from the host or the application,
/// read back.
pub(crate) const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

/// A part of a training step, in recording order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The training forward.
    Forward,
    /// `mse_loss`: ∂L/∂output from the output and the target.
    Loss,
    /// The backward.
    Backward,
    /// The backward without the input's gradient (the last layer-0 `gemm`s), for callers that do
    /// not ask for it.
    BackwardToParameters,
}

/// One call shape's resources.
#[derive(Debug)]
pub(crate) struct TrainShape {
    pub(crate) plan: TrainPlan,
    /// Whether a training forward was recorded into this shape (so a backward may follow).
    pub(crate) forward_recorded: std::sync::atomic::AtomicBool,
    buffers: HashMap<Buf, wgpu::Buffer>,
    table: wgpu::Buffer,
    bind_groups: Vec<wgpu::BindGroup>,
    /// Per dispatch of `plan.forward` then `plan.backward`, its bind group.
    group_of: Vec<usize>,
}

impl TrainShape {
    /// Plans and allocates the shape (T, N) of `trainer`'s model.
    pub(crate) fn new(trainer: &GpuTrainer, seq_len: usize, batch: usize) -> Result<Self> {
        let ctx = trainer.context();
        let config = trainer.config();
        let limits = PlanLimits::from_limits(ctx.limits());
        let plan = TrainPlan::new(config, trainer.layout(), seq_len, batch, &limits)?;
        let s = plan.sizes;
        let layers = config.num_layers;
        let mut wanted: Vec<(Buf, u64)> = vec![
            (Buf::Input, s.input),
            (Buf::Lengths, s.lengths),
            (Buf::Init, s.init),
            (Buf::Final, s.init),
            (Buf::Gx, s.gx),
            (Buf::Dg, s.dg),
            (Buf::DOut(0), s.output),
            (Buf::DOut(1), s.output),
            (Buf::GradInput, s.input),
            (Buf::State, s.state),
            (Buf::StateGrads, s.state_grads),
            (Buf::Ones, s.ones),
            (Buf::Target, s.output),
            (Buf::Loss, 16),
        ];
        for layer in 0..layers {
            wanted.push((Buf::Output(layer), s.output));
            wanted.push((Buf::Saved(layer), s.saved));
        }
        let label =
            format!("allocating the training buffers of {config} for T={seq_len}, N={batch}");
        let (buffers, table) = ctx.scoped(&label, || {
            let buffers: HashMap<Buf, wgpu::Buffer> = wanted
                .iter()
                .map(|&(buf, bytes)| {
                    let name = format!("wgpu-rnn.train.{buf:?}");
                    (buf, ctx.create_buffer(&name, bytes, USAGE))
                })
                .collect();
            let table = ctx.create_buffer_with(
                "wgpu-rnn.train.table",
                &plan.table,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            (buffers, table)
        })?;
        let ones = vec![1.0f32; (s.ones / 4) as usize];
        ctx.queue()
            .write_buffer(&buffers[&Buf::Ones], 0, bytemuck::cast_slice(&ones));
        // Every row runs all T steps unless a host call writes its lengths.
        let lengths = vec![seq_len as u32; batch];
        ctx.queue()
            .write_buffer(&buffers[&Buf::Lengths], 0, bytemuck::cast_slice(&lengths));
        let mut shape = Self {
            plan,
            forward_recorded: std::sync::atomic::AtomicBool::new(false),
            buffers,
            table,
            bind_groups: Vec::new(),
            group_of: Vec::new(),
        };
        let mut known: HashMap<(TrainKernel, Vec<Buf>), usize> = HashMap::new();
        let dispatches: Vec<TrainDispatch> = shape
            .plan
            .forward
            .iter()
            .chain(&shape.plan.backward)
            .chain([&shape.plan.loss])
            .cloned()
            .collect();
        let label = format!("binding the training buffers of {config}");
        ctx.scoped(&label, || {
            for d in &dispatches {
                let key = (d.kernel, d.buffers.clone());
                let index = match known.get(&key) {
                    Some(&i) => i,
                    None => {
                        let group = shape.bind_group(trainer, d);
                        shape.bind_groups.push(group);
                        known.insert(key, shape.bind_groups.len() - 1);
                        shape.bind_groups.len() - 1
                    }
                };
                shape.group_of.push(index);
            }
        })?;
        Ok(shape)
    }

    /// The buffer `buf` names (the trainer's parameters and gradients, or this shape's).
    pub(crate) fn buffer<'a>(&'a self, trainer: &'a GpuTrainer, buf: Buf) -> &'a wgpu::Buffer {
        match buf {
            Buf::Params => trainer.params_buffer(),
            Buf::Grads => trainer.grads_buffer(),
            other => &self.buffers[&other],
        }
    }

    fn bind_group(&self, trainer: &GpuTrainer, d: &TrainDispatch) -> wgpu::BindGroup {
        let pipeline = trainer.pipeline(d.kernel);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.table,
                offset: 0,
                size: wgpu::BufferSize::new(d.kernel.uniform_size()),
            }),
        }];
        for (i, &buf) in d.buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: self.buffer(trainer, buf).as_entire_binding(),
            });
        }
        trainer
            .context()
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(d.kernel.label()),
                layout: &pipeline.layout,
                entries: &entries,
            })
    }

    /// Records one phase of the plan into `pass`; with `accumulate` the weight gradients add to
    /// the gradient buffer instead of overwriting it.
    pub(crate) fn record(
        &self,
        trainer: &GpuTrainer,
        pass: &mut wgpu::ComputePass<'_>,
        phase: Phase,
        accumulate: bool,
    ) {
        let (forward, backward) = (self.plan.forward.len(), self.plan.backward.len());
        let (list, first) = match phase {
            Phase::Forward => (&self.plan.forward[..], 0),
            Phase::Backward => (&self.plan.backward[..], forward),
            Phase::BackwardToParameters => {
                let keep = backward - self.plan.input_grad_dispatches;
                (&self.plan.backward[..keep], forward)
            }
            Phase::Loss => (std::slice::from_ref(&self.plan.loss), forward + backward),
        };
        for (i, d) in list.iter().enumerate() {
            pass.set_pipeline(&trainer.pipeline(d.kernel).pipeline);
            let uniform = match d.uniform_accumulate {
                Some(adds) if accumulate => adds,
                _ => d.uniform,
            };
            pass.set_bind_group(0, &self.bind_groups[self.group_of[first + i]], &[uniform]);
            let [x, y, z] = d.workgroups;
            pass.dispatch_workgroups(x, y, z);
        }
    }

    /// Overwrites the `mse_loss` uniform (the compared count depends on the call's lengths).
    pub(crate) fn write_loss_params(&self, ctx: &GpuContext, params: &LossParams) {
        ctx.queue().write_buffer(
            &self.table,
            u64::from(self.plan.loss.uniform),
            bytemuck::bytes_of(params),
        );
    }

    /// Bytes of this shape's buffers.
    pub(crate) fn bytes(&self) -> u64 {
        self.buffers.values().map(wgpu::Buffer::size).sum::<u64>() + self.table.size()
    }
}

/// Writes `data` to `buffer` at element `offset` (the write lands with the next submit).
pub(crate) fn write_f32(ctx: &GpuContext, buffer: &wgpu::Buffer, offset: usize, data: &[f32]) {
    if !data.is_empty() {
        ctx.queue()
            .write_buffer(buffer, offset as u64 * 4, bytemuck::cast_slice(data));
    }
}
