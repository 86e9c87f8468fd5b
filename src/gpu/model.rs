//! A model on the GPU: weights uploaded once in the layouts the kernels read coalesced, pipelines
//! built once, and per call shape (T, N) one cached set of buffers, bind groups and plan. A forward
//! is one command encoder, one compute pass, one submit and one readback.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{Family, RnnConfig};
use crate::error::{Error, Result};
use crate::forward::{ForwardInput, ForwardOutput, Prepared};
use crate::gpu::context::{GpuContext, NEEDED_STORAGE_BUFFERS};
use crate::gpu::kernels::{self, Kernel, Params, Pipelines, PlanChoice, PlanKind, Tiling};
use crate::gpu::plan::{BindGroupSlot, BufferSizes, Plan, PlanLimits};
use crate::gpu::workspace::{Program, Workspace};
use crate::model::{LayerParams, Model};

/// The weights of one layer, both directions in each buffer.
#[derive(Debug)]
struct LayerWeights {
    /// W_ihᵀ: (D, I_l, 4·C4), K-major, gate columns zero-padded to a multiple of 4.
    w_ih: wgpu::Buffer,
    /// Pre-summed biases (D, 4·C4): b_ih + b_hh, except b_ih alone for the GRU n gate.
    bias: wgpu::Buffer,
    /// W_hhᵀ: (D, H_out, 4·⌈H/4⌉) for RNN (rows zero-padded); (D, H_out, H, 4) gate-interleaved for LSTM (i, f, g, o) and
    /// GRU (r, z, n, 0).
    w_hh: wgpu::Buffer,
    /// b_hn (D, H), GRU only.
    b_hn: Option<wgpu::Buffer>,
    /// W_hrᵀ: (D, H, P), LSTM with a projection only.
    w_hr: Option<wgpu::Buffer>,
}

/// The buffers a plan's dispatches bind, sized by its [`BufferSizes`]: shared by the host
/// forward's cache and the workspaces of [`GpuModel::encode_forward`] and
/// [`crate::gpu::GpuStream`].
#[derive(Debug)]
pub(crate) struct ShapeBuffers {
    /// Input `x` (T, N, I).
    pub(crate) x: wgpu::Buffer,
    /// Per-row lengths (N) as `u32`.
    pub(crate) lengths: wgpu::Buffer,
    /// The input projection `gx`.
    pub(crate) gx: wgpu::Buffer,
    /// The two alternating `h` state buffers (L, D, N, H_out).
    pub(crate) h: [wgpu::Buffer; 2],
    /// The `c` state buffer (L, D, N, H), LSTM only.
    pub(crate) c: Option<wgpu::Buffer>,
    /// The `lstm_step` → `lstm_projection` scratch, projection only.
    pub(crate) u: Option<wgpu::Buffer>,
    /// The layer outputs (T, N, D·H_out); the last layer writes `outputs[(L - 1) % 2]`.
    pub(crate) outputs: Vec<wgpu::Buffer>,
}

/// Buffers, bind groups and plan for one call shape (T, N).
#[derive(Debug)]
struct ShapeCache {
    program: Program,
    buffers: ShapeBuffers,
    staging: wgpu::Buffer,
    /// Timestamps at the start and end of the pass and the buffer they resolve into (only when
    /// [`GpuModel::set_gpu_timing`] is on and the device has timestamp queries).
    timestamps: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    /// Bytes of the buffers above.
    bytes: u64,
}

/// A [`Model`] on a GPU. Build it once ([`GpuModel::new`]) and call [`GpuModel::forward`] as
/// often as needed; calls of the same shape reuse every buffer.
///
/// Inside an application's own frame: [`GpuModel::encode_forward`] records a forward into the
/// application's command encoder (GPU tensors in and out), and [`crate::gpu::GpuStream`] keeps the
/// state on the GPU and steps it per call.
#[derive(Debug)]
pub struct GpuModel {
    context: Arc<GpuContext>,
    config: RnnConfig,
    pipelines: Pipelines,
    tiling: Tiling,
    layers: Vec<LayerWeights>,
    /// The buffers of the last call shape (boxed: a `GpuModel` stays small to move).
    cache: Mutex<Option<Box<ShapeCache>>>,
    /// The workspace of the last [`GpuModel::encode_forward`] shape.
    pub(crate) encode_cache: Mutex<Option<Box<Workspace>>>,
    /// The sequence kernel's pipelines built so far, by register block `RB` (sequence plan).
    sequence_pipelines: Mutex<Vec<(u32, wgpu::ComputePipeline)>>,
    /// Bytes of the weight buffers.
    weight_bytes: u64,
    /// Time each host forward's pass with timestamp queries.
    gpu_timing: AtomicBool,
    /// GPU time of the last timed forward's pass, in milliseconds.
    last_gpu_ms: Mutex<Option<f64>>,
}

/// Two `u64` timestamps: the start and end of a forward's pass.
const TIMESTAMP_BYTES: u64 = 16;

const STORAGE_IN: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_DST);

impl GpuModel {
    /// Uploads `model`'s weights to `context`'s device and builds its pipelines, with the plan
    /// the adapter calls for ([`PlanChoice::from_env`]: `WGPU_RNN_PLAN=step|sequence` forces one).
    pub fn new(model: &Model, context: Arc<GpuContext>) -> Result<Self> {
        Self::with_plan(model, context, PlanChoice::from_env())
    }

    /// [`GpuModel::new`] with the plan chosen by `choice` (see [`PlanKind`]): tests and
    /// benchmarks force each plan with it.
    pub fn with_plan(model: &Model, context: Arc<GpuContext>, choice: PlanChoice) -> Result<Self> {
        let tiling = Tiling::for_device(
            model.config(),
            context.adapter_info(),
            context.limits(),
            choice,
        );
        Self::with_tiling(model, context, tiling)
    }

    /// [`GpuModel::new`] with a given tiling, e.g. [`Tiling::for_device`] for another kind of
    /// adapter than `context`'s: tests run the GPU-style sequence tiling on lavapipe with it. The
    /// tiling must suit the device (workgroup memory and size limits are not re-checked).
    #[doc(hidden)]
    pub fn with_tiling(model: &Model, context: Arc<GpuContext>, tiling: Tiling) -> Result<Self> {
        let config = model.config().clone();
        if !config.is_pytorch() {
            return Err(Error::Unsupported(format!(
                "{config} on the GPU: the GPU kernels compute PyTorch's semantics only so far; run it on the CPU reference"
            )));
        }
        let have = context.limits().max_storage_buffers_per_shader_stage;
        if have < NEEDED_STORAGE_BUFFERS {
            return Err(Error::DeviceUnavailable(format!(
                "the device allows {have} storage buffers per shader stage; wgpu-rnn needs {NEEDED_STORAGE_BUFFERS}"
            )));
        }
        let limits = PlanLimits::from_limits(context.limits());
        let packed: Vec<PackedLayer> = (0..config.num_layers)
            .map(|layer| PackedLayer::new(model, layer))
            .collect();
        for p in &packed {
            for (what, data) in [("W_ih", &p.w_ih), ("W_hh", &p.w_hh), ("W_hr", &p.w_hr)] {
                let bytes = data.len() as u64 * 4;
                if bytes > limits.max_binding {
                    return Err(Error::TooLarge {
                        what: format!("{what} of {config} on the GPU"),
                        bytes: u128::from(bytes),
                        limit: u128::from(limits.max_binding),
                    });
                }
            }
        }
        let context_name = format!("building {config} on the GPU");
        let (pipelines, layers) = context.scoped(&context_name, || {
            let pipelines = Pipelines::new(context.device(), &config, &tiling);
            let layers: Vec<LayerWeights> = packed
                .iter()
                .enumerate()
                .map(|(l, p)| {
                    let upload = |name: &str, data: &[f32]| {
                        context.create_buffer_with(
                            &format!("wgpu-rnn.l{l}.{name}"),
                            bytemuck::cast_slice(data),
                            wgpu::BufferUsages::STORAGE,
                        )
                    };
                    LayerWeights {
                        w_ih: upload("w_ih", &p.w_ih),
                        bias: upload("bias", &p.bias),
                        w_hh: upload("w_hh", &p.w_hh),
                        b_hn: (!p.b_hn.is_empty()).then(|| upload("b_hn", &p.b_hn)),
                        w_hr: (!p.w_hr.is_empty()).then(|| upload("w_hr", &p.w_hr)),
                    }
                })
                .collect();
            (pipelines, layers)
        })?;
        context.count_pipelines(2 + u64::from(config.proj_size > 0));
        let weight_bytes = layers
            .iter()
            .map(|l| {
                [
                    Some(&l.w_ih),
                    Some(&l.bias),
                    Some(&l.w_hh),
                    l.b_hn.as_ref(),
                    l.w_hr.as_ref(),
                ]
                .into_iter()
                .flatten()
                .map(wgpu::Buffer::size)
                .sum::<u64>()
            })
            .sum();
        Ok(Self {
            context,
            config,
            pipelines,
            tiling,
            layers,
            cache: Mutex::new(None),
            encode_cache: Mutex::new(None),
            sequence_pipelines: Mutex::new(Vec::new()),
            weight_bytes,
            gpu_timing: AtomicBool::new(false),
            last_gpu_ms: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// The context it runs on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.context
    }

    /// How its forwards run the recurrence (chosen at creation).
    pub fn plan_kind(&self) -> PlanKind {
        self.tiling.kind()
    }

    /// Bytes of GPU buffers this model holds for [`GpuModel::forward`]: `(weights, buffers of the
    /// cached call shape)`. The shape's buffers are the input, output(s), projection (chunked),
    /// states, per-dispatch uniform table and readback buffer; see [`BufferSizes`].
    pub fn gpu_buffer_bytes(&self) -> (u64, u64) {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        (self.weight_bytes, cache.as_ref().map_or(0, |c| c.bytes))
    }

    /// Times each [`GpuModel::forward`]'s compute pass on the GPU with timestamp queries, where
    /// the device has them ([`GpuContext::has_timestamps`]); read it with
    /// [`GpuModel::last_gpu_ms`]. Off by default. Changing it rebuilds the call shape's buffers at
    /// the next call.
    pub fn set_gpu_timing(&self, on: bool) {
        let on = on && self.context.has_timestamps();
        if self.gpu_timing.swap(on, Ordering::Relaxed) != on {
            *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// The GPU time of the last forward's compute pass in milliseconds, when timed
    /// ([`GpuModel::set_gpu_timing`]).
    pub fn last_gpu_ms(&self) -> Option<f64> {
        *self.last_gpu_ms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The plan of a call with `seq_len` steps and `batch` rows (what [`GpuModel::forward`]
    /// records), or the [`Error::TooLarge`] such a call would get.
    pub fn plan(&self, seq_len: usize, batch: usize) -> Result<Plan> {
        let limits = PlanLimits::from_limits(self.context.limits());
        Plan::new(&self.config, &self.tiling, seq_len, batch, &limits)
    }

    /// Runs the model on the GPU. Arguments and results have the shapes documented on
    /// [`ForwardInput`] and [`ForwardOutput`], and are validated exactly as
    /// [`Model::forward_reference`] validates them.
    pub fn forward(&self, args: &ForwardInput<'_>) -> Result<ForwardOutput> {
        let config = &self.config;
        let prepared = Prepared::new(config, args)?;
        let (t_len, n) = (prepared.seq_len, prepared.batch);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(&*cache, Some(c) if c.program.plan.seq_len == t_len && c.program.plan.batch == n)
        {
            *cache = None;
            *cache = Some(Box::new(self.shape_cache(t_len, n)?));
        }
        let cache = cache.as_ref().expect("filled above");
        let plan = &cache.program.plan;
        let what = format!("the forward of {config} with T={t_len}, N={n}");

        let t_out = prepared.output_steps();
        let out_len = (t_out * n * config.num_directions() * config.output_hidden()) as u64 * 4;
        let h_len = plan.sizes.h;
        let c_len = plan.sizes.c;
        let encoder =
            self.context.scoped(&what, || {
                let queue = self.context.queue();
                queue.write_buffer(&cache.buffers.x, 0, bytemuck::cast_slice(&prepared.x));
                let lengths: Vec<u32> = (0..n).map(|r| prepared.length(r) as u32).collect();
                queue.write_buffer(&cache.buffers.lengths, 0, bytemuck::cast_slice(&lengths));
                queue.write_buffer(&cache.buffers.h[0], 0, bytemuck::cast_slice(&prepared.h0));
                if let Some(c) = &cache.buffers.c {
                    queue.write_buffer(c, 0, bytemuck::cast_slice(&prepared.c0));
                }
                let mut encoder =
                    self.context
                        .device()
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("wgpu-rnn.forward"),
                        });
                {
                    let timestamp_writes = cache.timestamps.as_ref().map(|(set, _)| {
                        wgpu::ComputePassTimestampWrites {
                            query_set: set,
                            beginning_of_pass_write_index: Some(0),
                            end_of_pass_write_index: Some(1),
                        }
                    });
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("wgpu-rnn.forward"),
                        timestamp_writes,
                    });
                    self.record(&mut pass, plan, &cache.program.bind_groups);
                }
                let last = &cache.buffers.outputs[(config.num_layers - 1) % 2];
                encoder.copy_buffer_to_buffer(last, 0, &cache.staging, 0, out_len);
                let h_final = &cache.buffers.h[plan.final_state_buffer()];
                encoder.copy_buffer_to_buffer(h_final, 0, &cache.staging, out_len, h_len);
                if let Some(c) = &cache.buffers.c {
                    encoder.copy_buffer_to_buffer(c, 0, &cache.staging, out_len + h_len, c_len);
                }
                if let Some((set, resolve)) = &cache.timestamps {
                    encoder.resolve_query_set(set, 0..2, resolve, 0);
                    let at = out_len + h_len + c_len;
                    encoder.copy_buffer_to_buffer(resolve, 0, &cache.staging, at, TIMESTAMP_BYTES);
                }
                encoder
            })?;
        let time_len = if cache.timestamps.is_some() {
            TIMESTAMP_BYTES
        } else {
            0
        };
        let mut data = self.context.submit_and_read(
            &what,
            encoder,
            &cache.staging,
            out_len + h_len + c_len + time_len,
        )?;
        if time_len > 0 {
            let at = ((out_len + h_len + c_len) / 4) as usize;
            let ticks: Vec<u64> =
                bytemuck::pod_collect_to_vec(bytemuck::cast_slice::<f32, u8>(&data.split_off(at)));
            let period = f64::from(self.context.queue().get_timestamp_period());
            let ms = ticks[1].saturating_sub(ticks[0]) as f64 * period / 1e6;
            *self.last_gpu_ms.lock().unwrap_or_else(|p| p.into_inner()) = Some(ms);
        }
        let c_n = cache
            .buffers
            .c
            .as_ref()
            .map(|_| data.split_off(((out_len + h_len) / 4) as usize));
        let h_n = data.split_off((out_len / 4) as usize);
        Ok(prepared.finish(config, data, h_n, c_n))
    }

    /// Creates the buffers and the program (plan, table, bind groups) of calls with `t_len` steps
    /// and `n` rows.
    fn shape_cache(&self, t_len: usize, n: usize) -> Result<ShapeCache> {
        let plan = self.plan(t_len, n)?;
        let config = &self.config;
        let ctx = &*self.context;
        let what = format!("allocating buffers for {config} with T={t_len}, N={n}");
        ctx.scoped(&what, || {
            let buffers = self.create_buffers(&plan.sizes);
            let timing = self.gpu_timing.load(Ordering::Relaxed);
            let staging = ctx.create_buffer(
                "wgpu-rnn.staging",
                plan.sizes.staging + if timing { TIMESTAMP_BYTES } else { 0 },
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            let timestamps = timing.then(|| {
                let set = ctx.device().create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("wgpu-rnn.timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2,
                });
                let resolve = ctx.create_buffer(
                    "wgpu-rnn.timestamps",
                    TIMESTAMP_BYTES,
                    wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                );
                (set, resolve)
            });
            let program = Program::new(self, &buffers, plan);
            let b = &buffers;
            let bytes = [
                &b.x,
                &b.lengths,
                &b.gx,
                &b.h[0],
                &b.h[1],
                &program.table,
                &staging,
            ]
            .into_iter()
            .chain(b.c.as_ref())
            .chain(b.u.as_ref())
            .chain(&b.outputs)
            .chain(timestamps.as_ref().map(|(_, r)| r))
            .map(wgpu::Buffer::size)
            .sum();
            ShapeCache {
                program,
                buffers,
                staging,
                timestamps,
                bytes,
            }
        })
    }

    /// Creates the buffers of `sizes` (call inside [`GpuContext::scoped`]). State and output
    /// buffers can be copied from and to (`COPY_SRC | COPY_DST`).
    pub(crate) fn create_buffers(&self, sizes: &BufferSizes) -> ShapeBuffers {
        let ctx = &*self.context;
        let usage_state = STORAGE_IN | wgpu::BufferUsages::COPY_SRC;
        let x = ctx.create_buffer("wgpu-rnn.x", sizes.x, STORAGE_IN);
        let lengths = ctx.create_buffer("wgpu-rnn.lengths", sizes.lengths, STORAGE_IN);
        let gx = ctx.create_buffer("wgpu-rnn.gx", sizes.gx, wgpu::BufferUsages::STORAGE);
        let h = [
            ctx.create_buffer("wgpu-rnn.h0", sizes.h, usage_state),
            ctx.create_buffer("wgpu-rnn.h1", sizes.h, usage_state),
        ];
        let c = (sizes.c > 0).then(|| ctx.create_buffer("wgpu-rnn.c", sizes.c, usage_state));
        let u = (sizes.u > 0)
            .then(|| ctx.create_buffer("wgpu-rnn.u", sizes.u, wgpu::BufferUsages::STORAGE));
        let outputs: Vec<wgpu::Buffer> = (0..sizes.output_buffers)
            .map(|i| ctx.create_buffer(&format!("wgpu-rnn.output{i}"), sizes.output, usage_state))
            .collect();
        ShapeBuffers {
            x,
            lengths,
            gx,
            h,
            c,
            u,
            outputs,
        }
    }

    /// Creates and fills the per-step uniform table of `plan` (call inside
    /// [`GpuContext::scoped`]; the data lands with the next submit on the queue).
    pub(crate) fn create_table(&self, plan: &Plan) -> wgpu::Buffer {
        let mut table = vec![0u8; plan.sizes.table as usize];
        for (i, entry) in plan.table.iter().enumerate() {
            let at = i * kernels::PARAMS_STRIDE as usize;
            table[at..at + std::mem::size_of::<Params>()]
                .copy_from_slice(bytemuck::bytes_of(entry));
        }
        self.context
            .create_buffer_with("wgpu-rnn.params", &table, wgpu::BufferUsages::UNIFORM)
    }

    /// Creates the bind groups of every [`BindGroupSlot`] over `buffers` and `table`, in
    /// [`BindGroupSlot::index`] order (call inside [`GpuContext::scoped`]).
    pub(crate) fn create_bind_groups(
        &self,
        buffers: &ShapeBuffers,
        table: &wgpu::Buffer,
    ) -> Vec<wgpu::BindGroup> {
        let config = &self.config;
        let ctx = &*self.context;
        let ShapeBuffers {
            x,
            lengths,
            gx,
            h,
            c,
            u,
            outputs,
        } = buffers;
        let params = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: table,
            offset: 0,
            size: wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64),
        });
        let layers = config.num_layers;
        let slots =
            BindGroupSlot::all(layers, config.proj_size > 0, self.tiling.sequence.is_some());
        slots
            .iter()
            .map(|&slot| {
                let (kernel, buffers): (Kernel, Vec<&wgpu::Buffer>) = match slot {
                    BindGroupSlot::InputProjection { layer } => {
                        let w = &self.layers[layer];
                        let input = if layer == 0 {
                            x
                        } else {
                            &outputs[(layer - 1) % 2]
                        };
                        (
                            Kernel::InputProjection,
                            vec![input, &w.w_ih, &w.bias, lengths, gx],
                        )
                    }
                    BindGroupSlot::Step { layer, parity } => {
                        let w = &self.layers[layer];
                        let out = &outputs[layer % 2];
                        let (prev, next) = (&h[parity], &h[1 - parity]);
                        let kernel = Kernel::step(config.family());
                        let list = match config.family() {
                            Family::Rnn => vec![gx, &w.w_hh, lengths, prev, next, out],
                            Family::Lstm => {
                                let next = u.as_ref().unwrap_or(next);
                                let c = c.as_ref().expect("LSTM has a cell state buffer");
                                vec![gx, &w.w_hh, lengths, prev, next, c, out]
                            }
                            Family::Gru => {
                                let b_hn = w.b_hn.as_ref().expect("GRU uploads b_hn");
                                vec![gx, &w.w_hh, b_hn, lengths, prev, next, out]
                            }
                        };
                        (kernel, list)
                    }
                    BindGroupSlot::LstmProjection { layer, parity } => {
                        let w = &self.layers[layer];
                        let w_hr = w.w_hr.as_ref().expect("projection uploads W_hr");
                        let u = u.as_ref().expect("projection has a scratch buffer");
                        let out = &outputs[layer % 2];
                        (
                            Kernel::LstmProjection,
                            vec![w_hr, lengths, u, &h[parity], &h[1 - parity], out],
                        )
                    }
                    BindGroupSlot::Sequence { layer } => {
                        let w = &self.layers[layer];
                        let out = &outputs[layer % 2];
                        let kernel = Kernel::sequence(config.family());
                        let list = match config.family() {
                            Family::Rnn => vec![gx, &w.w_hh, lengths, &h[0], out],
                            Family::Lstm => {
                                let c = c.as_ref().expect("LSTM has a cell state buffer");
                                // Without a projection `w_hr` is never read: W_hh stands in.
                                let w_hr = w.w_hr.as_ref().unwrap_or(&w.w_hh);
                                vec![gx, &w.w_hh, lengths, &h[0], c, out, w_hr]
                            }
                            Family::Gru => {
                                let b_hn = w.b_hn.as_ref().expect("GRU uploads b_hn");
                                vec![gx, &w.w_hh, b_hn, lengths, &h[0], out]
                            }
                        };
                        (kernel, list)
                    }
                };
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params.clone(),
                }];
                entries.extend(
                    buffers
                        .iter()
                        .enumerate()
                        .map(|(i, b)| wgpu::BindGroupEntry {
                            binding: i as u32 + 1,
                            resource: b.as_entire_binding(),
                        }),
                );
                debug_assert_eq!(entries.len(), kernel.bindings().len());
                let layout = match slot {
                    BindGroupSlot::Sequence { .. } => self
                        .pipelines
                        .sequence_layout
                        .as_ref()
                        .expect("a model with the sequence plan has its layout"),
                    _ => &self.pipelines.get(kernel).layout,
                };
                ctx.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(kernel.label()),
                    layout,
                    entries: &entries,
                })
            })
            .collect()
    }

    /// Builds the pipelines `plan` needs beyond those of [`GpuModel::new`]: the sequence kernel
    /// for its register block (once per block size; call inside [`GpuContext::scoped`], before
    /// [`GpuModel::record`]).
    pub(crate) fn prepare_pipelines(&self, plan: &Plan) {
        if plan.sequence_rows == 0 {
            return;
        }
        let mut built = self
            .sequence_pipelines
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if built.iter().any(|(rb, _)| *rb == plan.sequence_rows) {
            return;
        }
        if let Some(pipeline) = self.pipelines.sequence_pipeline(
            self.context.device(),
            &self.config,
            &self.tiling,
            plan.sequence_rows,
        ) {
            self.context.count_pipelines(1);
            built.push((plan.sequence_rows, pipeline));
        }
    }

    /// Records `plan`'s dispatches into `pass`, binding `bind_groups` (from
    /// [`GpuModel::create_bind_groups`]; [`GpuModel::prepare_pipelines`] ran for `plan`).
    pub(crate) fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        plan: &Plan,
        bind_groups: &[wgpu::BindGroup],
    ) {
        let sequence = (plan.sequence_rows > 0).then(|| {
            let built = self
                .sequence_pipelines
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            built
                .iter()
                .find(|(rb, _)| *rb == plan.sequence_rows)
                .map(|(_, p)| p.clone())
                .expect("prepare_pipelines built the plan's sequence pipeline")
        });
        let mut current = None;
        for d in &plan.dispatches {
            if current != Some(d.kernel) {
                match (&sequence, d.kernel) {
                    (
                        Some(pipeline),
                        Kernel::RnnSequence | Kernel::LstmSequence | Kernel::GruSequence,
                    ) => pass.set_pipeline(pipeline),
                    _ => pass.set_pipeline(&self.pipelines.get(d.kernel).pipeline),
                }
                current = Some(d.kernel);
            }
            let group = &bind_groups[d
                .bind_group
                .index(self.config.num_layers, self.config.proj_size > 0)];
            pass.set_bind_group(0, group, &[d.dynamic_offset]);
            let [x, y, z] = d.workgroups;
            pass.dispatch_workgroups(x, y, z);
        }
    }
}

/// One layer's weights re-packed on the host, both directions concatenated.
struct PackedLayer {
    w_ih: Vec<f32>,
    bias: Vec<f32>,
    w_hh: Vec<f32>,
    b_hn: Vec<f32>,
    w_hr: Vec<f32>,
}

impl PackedLayer {
    fn new(model: &Model, layer: usize) -> Self {
        let config = model.config();
        let (g, hidden, h_out) = (
            config.gate_count(),
            config.hidden_size,
            config.output_hidden(),
        );
        let cols = kernels::gx_cols4(config) * 4;
        let k_in = config.layer_input_size(layer);
        let gru = config.family() == Family::Gru;
        let mut packed = PackedLayer {
            w_ih: Vec::new(),
            bias: Vec::new(),
            w_hh: Vec::new(),
            b_hn: Vec::new(),
            w_hr: Vec::new(),
        };
        for dir in 0..config.num_directions() {
            let p: &LayerParams = model.group(layer, dir);
            // W_ihᵀ (K, cols), zero-padded columns.
            let w = p.weight_ih.data();
            let mut w_ih = vec![0.0; k_in * cols];
            for c in 0..g * hidden {
                for k in 0..k_in {
                    w_ih[k * cols + c] = w[c * k_in + k];
                }
            }
            packed.w_ih.extend(w_ih);
            // Pre-summed biases, zero-padded columns.
            let mut bias = vec![0.0; cols];
            if let (Some(b_ih), Some(b_hh)) = (&p.bias_ih, &p.bias_hh) {
                let sums = b_ih.data().iter().zip(b_hh.data()).enumerate();
                for (slot, (c, (&bi, &bh))) in bias.iter_mut().zip(sums) {
                    // For GRU, b_hn (c >= 2H) stays out: it is multiplied by r.
                    *slot = if gru && c >= 2 * hidden { bi } else { bi + bh };
                }
            }
            packed.bias.extend(bias);
            if gru {
                match &p.bias_hh {
                    Some(b) => packed.b_hn.extend_from_slice(&b.data()[2 * hidden..]),
                    None => packed.b_hn.extend(std::iter::repeat_n(0.0, hidden)),
                }
            }
            // W_hhᵀ (K = H_out, H) with the G gates of unit j side by side (padded to 4); for the
            // RNN (one gate) rows of 4·⌈H/4⌉ units, zero-padded, so 4 units read as one vec4.
            let w = p.weight_hh.data();
            let lanes = if g == 1 { 1 } else { 4 };
            let row = if g == 1 {
                hidden.div_ceil(4) * 4
            } else {
                hidden
            };
            let mut w_hh = vec![0.0; h_out * row * lanes];
            for k in 0..h_out {
                for j in 0..hidden {
                    for gate in 0..g {
                        w_hh[(k * row + j) * lanes + gate] = w[(gate * hidden + j) * h_out + k];
                    }
                }
            }
            packed.w_hh.extend(w_hh);
            // W_hrᵀ (H, P).
            if let Some(w_hr) = &p.weight_hr {
                let w = w_hr.data();
                let mut t = vec![0.0; hidden * h_out];
                for pi in 0..h_out {
                    for k in 0..hidden {
                        t[k * h_out + pi] = w[pi * hidden + k];
                    }
                }
                packed.w_hr.extend(t);
            }
        }
        packed
    }
}

impl Model {
    /// Runs the model on the GPU of `context`, uploading it first; to run a model more than once,
    /// build a [`GpuModel`] and keep it.
    pub fn forward_gpu(
        &self,
        context: &Arc<GpuContext>,
        args: &ForwardInput<'_>,
    ) -> Result<ForwardOutput> {
        GpuModel::new(self, Arc::clone(context))?.forward(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn gpu_model_is_send_and_sync() {
        assert_send_sync::<GpuModel>();
        assert_send_sync::<GpuContext>();
    }

    #[test]
    fn gpu_model_is_small_to_move() {
        assert!(size_of::<GpuModel>() <= 512, "{}", size_of::<GpuModel>());
    }
}
