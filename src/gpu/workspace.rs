//! A workspace: the buffers of up to `max_steps` time steps of `batch` rows, plus one dispatch
//! program (plan, per-step uniform table, bind groups) per step count it has run, so that calls
//! with a step count seen before create nothing. [`GpuModel::encode_forward`] and
//! [`GpuStream`] record from it into an application's command encoder.
//!
//! The state stays in `h[0]` (and `c`) between calls: after a program with an odd step count,
//! whose final states land in `h[1]`, one copy brings them back.
//!
//! [`GpuModel::encode_forward`]: crate::GpuModel::encode_forward
//! [`GpuStream`]: crate::gpu::GpuStream

use crate::error::Result;
use crate::gpu::model::{GpuModel, ShapeBuffers};
use crate::gpu::plan::{BufferSizes, Plan};

/// Programs a workspace keeps, least recently used dropped first.
const MAX_PROGRAMS: usize = 8;

/// One plan's dispatches, with the uniform table and bind groups they use over a set of
/// buffers: a workspace keeps one per step count, the host [`GpuModel::forward`] one per shape.
///
/// [`GpuModel::forward`]: crate::GpuModel::forward
#[derive(Debug)]
pub(crate) struct Program {
    pub(crate) plan: Plan,
    /// The per-step uniform table (the bind groups reference it).
    pub(crate) table: wgpu::Buffer,
    pub(crate) bind_groups: Vec<wgpu::BindGroup>,
}

/// Buffers for up to `max_steps` steps of `batch` rows and the programs run on them.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) batch: usize,
    pub(crate) max_steps: usize,
    pub(crate) sizes: BufferSizes,
    pub(crate) buffers: ShapeBuffers,
    /// Most recently used last.
    programs: Vec<Program>,
}

impl Workspace {
    /// Allocates the buffers of `max_steps` steps of `batch` rows of `model` (every row's length
    /// set to `max_steps`, state zero) and the program of `max_steps` steps.
    pub(crate) fn new(model: &GpuModel, max_steps: usize, batch: usize) -> Result<Self> {
        let plan = model.plan(max_steps, batch)?;
        let ctx = model.context();
        let what = format!(
            "allocating GPU buffers for {} with up to {max_steps} steps of {batch} rows",
            model.config()
        );
        let sizes = plan.sizes;
        let (buffers, program) = ctx.scoped(&what, || {
            let buffers = model.create_buffers(&sizes);
            let lengths = vec![max_steps as u32; batch];
            ctx.queue()
                .write_buffer(&buffers.lengths, 0, bytemuck::cast_slice(&lengths));
            let program = Program::new(model, &buffers, plan);
            (buffers, program)
        })?;
        Ok(Self {
            batch,
            max_steps,
            sizes,
            buffers,
            programs: vec![program],
        })
    }

    /// Builds the program of `steps` steps unless it exists (a table buffer and bind groups).
    pub(crate) fn prepare(&mut self, model: &GpuModel, steps: usize) -> Result<()> {
        assert!(
            (1..=self.max_steps).contains(&steps),
            "callers check 1 <= steps <= max_steps"
        );
        if let Some(i) = self.programs.iter().position(|p| p.plan.seq_len == steps) {
            let program = self.programs.remove(i);
            self.programs.push(program);
            return Ok(());
        }
        let plan = model.plan(steps, self.batch)?;
        let (s, m) = (&plan.sizes, &self.sizes);
        assert!(
            s.x <= m.x && s.gx <= m.gx && s.output <= m.output && s.h == m.h && s.c == m.c,
            "a plan of fewer steps needs no larger buffers than the workspace's"
        );
        let what = format!(
            "preparing {steps}-step calls of {} with {} rows",
            model.config(),
            self.batch
        );
        let program = model
            .context()
            .scoped(&what, || Program::new(model, &self.buffers, plan))?;
        if self.programs.len() >= MAX_PROGRAMS {
            self.programs.remove(0);
        }
        self.programs.push(program);
        Ok(())
    }

    /// Records `steps` steps from the states in `h[0]` (and `c`) over the inputs in `x`, leaving
    /// the last layer's outputs in [`Workspace::output`] and the new states in `h[0]` (and `c`).
    pub(crate) fn record(
        &mut self,
        model: &GpuModel,
        encoder: &mut wgpu::CommandEncoder,
        steps: usize,
    ) -> Result<()> {
        debug_assert!(
            model.config().num_directions() == 1 || steps == self.max_steps,
            "lengths are max_steps: the reverse direction needs calls of exactly max_steps steps"
        );
        self.prepare(model, steps)?;
        let program = self
            .programs
            .last()
            .expect("prepare leaves the program last");
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("wgpu-rnn.encode"),
                timestamp_writes: None,
            });
            model.record(&mut pass, &program.plan, &program.bind_groups);
        }
        if program.plan.final_state_buffer() == 1 {
            let h = &self.buffers.h;
            encoder.copy_buffer_to_buffer(&h[1], 0, &h[0], 0, self.sizes.h);
        }
        Ok(())
    }

    /// The buffer the last layer writes its outputs to, (max_steps, N, D·H_out).
    pub(crate) fn output(&self, model: &GpuModel) -> &wgpu::Buffer {
        &self.buffers.outputs[(model.config().num_layers - 1) % 2]
    }
}

impl Program {
    /// Builds `plan`'s pipelines, table and bind groups over `buffers` (call inside
    /// [`crate::gpu::GpuContext::scoped`]).
    pub(crate) fn new(model: &GpuModel, buffers: &ShapeBuffers, plan: Plan) -> Self {
        model.prepare_pipelines(&plan);
        let table = model.create_table(&plan);
        let bind_groups = model.create_bind_groups(buffers, &table);
        Self {
            plan,
            table,
            bind_groups,
        }
    }
}
