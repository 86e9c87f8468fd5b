//! The WGSL kernels: their sources (`shaders/*.wgsl`), their bindings declared once as data, the
//! uniform [`Params`] they share, and the per-model pipelines built from them.
//!
//! Each kernel has one name everywhere: the file `shaders/NAME.wgsl`, the CPU twin in
//! [`crate::reference`], the [`Kernel`] variant and the wgpu label `"wgpu-rnn.NAME"`.

use crate::config::{Family, Nonlinearity, RnnConfig};

/// Batch rows one step-kernel invocation computes. Keep in sync with `ROWS` in
/// `shaders/step_common.wgsl` (checked by `tests/gpu_shaders.rs`).
pub const STEP_ROWS: u32 = 4;
/// Rows (step × batch row) one input-projection invocation computes. Keep in sync with `ROWS` in
/// `shaders/input_projection.wgsl`.
pub const PROJECTION_ROWS: u32 = 8;
/// Most batch rows one register block of a sequence kernel covers (its `RB` override is 1, 2, 4
/// or this). Keep in sync with `ROWS` in `shaders/sequence_common.wgsl`.
pub const SEQUENCE_ROWS: u32 = 8;
/// vec4 columns one input-projection invocation computes (`c`, `c + WG_X`, ...). Keep in sync with
/// `COLS` in `shaders/input_projection.wgsl`.
pub const PROJECTION_COLS: u32 = 4;
/// Invocations per input-projection workgroup (`WG_X · WG_Y`).
pub const PROJECTION_WORKGROUP: u32 = 64;
/// Largest step-kernel workgroup (`WG`), along the hidden units.
pub const STEP_WORKGROUP_MAX: u32 = 64;
/// Bytes between consecutive [`Params`] entries of the per-step table (the dynamic-offset stride;
/// WebGPU allows `min_uniform_buffer_offset_alignment` of at most 256).
pub const PARAMS_STRIDE: u64 = 256;

/// The uniform every kernel reads through a dynamic offset into the per-step table.
///
/// Keep in sync with `struct Params` in `shaders/params.wgsl` (checked by `tests/gpu_shaders.rs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Params {
    /// Batch rows `N`.
    pub batch: u32,
    /// Input width of this layer `I_l` (the projection's K).
    pub in_width: u32,
    /// Hidden size `H`.
    pub hidden: u32,
    /// Width of `h`, `H_out` (`P` with a projection, else `H`).
    pub h_out: u32,
    /// The step `s` a step kernel computes (0-based, per direction).
    pub step: u32,
    /// First step held in the projection buffer `gx` (the chunk this step belongs to).
    pub chunk_start: u32,
    /// Steps in that chunk.
    pub chunk_steps: u32,
    /// Steps `gx` has room for (its stride between directions).
    pub chunk_cap: u32,
    /// Gate columns `G·H` rounded up to a multiple of 4, divided by 4.
    pub gx_cols4: u32,
    /// Output row width `D·H_out`.
    pub out_width: u32,
    /// Element offset of this layer's `h` states, `layer·D·N·H_out`.
    pub state_base: u32,
    /// Element offset of this layer's `c` states, `layer·D·N·H`.
    pub cell_base: u32,
}

/// The fields of [`Params`] in order with their byte offsets, for checking the WGSL twin.
pub const PARAMS_FIELDS: [(&str, usize); 12] = [
    ("batch", std::mem::offset_of!(Params, batch)),
    ("in_width", std::mem::offset_of!(Params, in_width)),
    ("hidden", std::mem::offset_of!(Params, hidden)),
    ("h_out", std::mem::offset_of!(Params, h_out)),
    ("step", std::mem::offset_of!(Params, step)),
    ("chunk_start", std::mem::offset_of!(Params, chunk_start)),
    ("chunk_steps", std::mem::offset_of!(Params, chunk_steps)),
    ("chunk_cap", std::mem::offset_of!(Params, chunk_cap)),
    ("gx_cols4", std::mem::offset_of!(Params, gx_cols4)),
    ("out_width", std::mem::offset_of!(Params, out_width)),
    ("state_base", std::mem::offset_of!(Params, state_base)),
    ("cell_base", std::mem::offset_of!(Params, cell_base)),
];

/// The kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `shaders/input_projection.wgsl`.
    InputProjection,
    /// `shaders/rnn_step.wgsl`.
    RnnStep,
    /// `shaders/lstm_step.wgsl`.
    LstmStep,
    /// `shaders/gru_step.wgsl`.
    GruStep,
    /// `shaders/lstm_projection.wgsl`.
    LstmProjection,
    /// `shaders/rnn_sequence.wgsl`.
    RnnSequence,
    /// `shaders/lstm_sequence.wgsl`.
    LstmSequence,
    /// `shaders/gru_sequence.wgsl`.
    GruSequence,
}

/// A shared WGSL file, `shaders/NAME.wgsl`, composed in front of the kernels that list it in
/// [`Kernel::parts`]. Each is declared once there and never repeated in a kernel's own file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// `weights_f32.wgsl`: the weight element type (`W`, `W4`), first in every kernel.
    WeightsF32,
    /// `prelude.wgsl`: the NaN test, the numerically safe activations and `step_time`. Every
    /// forward kernel has it, and the training step kernels (`gpu::train`) too.
    Prelude,
    /// `params.wgsl`: [`Params`] and its binding, the output and projection index helpers.
    /// Every forward kernel has it.
    Params,
    /// `step_common.wgsl`: the per-step kernels' workgroup size, row block and row updates.
    StepCommon,
    /// `step_gates.wgsl`: `lstm_step`'s and `gru_step`'s W_hh·h of a unit's 4 gates.
    StepGates,
    /// `sequence_common.wgsl`: the sequence kernels' tiling overrides, h in workgroup memory,
    /// the W_hh·h register-block loop and the row updates.
    SequenceCommon,
    /// `cells.wgsl`: the LSTM and GRU cell updates from their gate pre-activations, for the
    /// step and sequence kernels of those families.
    Cells,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 7] = [
        Part::WeightsF32,
        Part::Prelude,
        Part::Params,
        Part::StepCommon,
        Part::StepGates,
        Part::SequenceCommon,
        Part::Cells,
    ];

    /// Its file name without `.wgsl`.
    pub fn name(self) -> &'static str {
        match self {
            Part::WeightsF32 => "weights_f32",
            Part::Prelude => "prelude",
            Part::Params => "params",
            Part::StepCommon => "step_common",
            Part::StepGates => "step_gates",
            Part::SequenceCommon => "sequence_common",
            Part::Cells => "cells",
        }
    }

    /// The WGSL text.
    pub fn source(self) -> &'static str {
        match self {
            Part::WeightsF32 => include_str!("../../shaders/weights_f32.wgsl"),
            Part::Prelude => include_str!("../../shaders/prelude.wgsl"),
            Part::Params => include_str!("../../shaders/params.wgsl"),
            Part::StepCommon => include_str!("../../shaders/step_common.wgsl"),
            Part::StepGates => include_str!("../../shaders/step_gates.wgsl"),
            Part::SequenceCommon => include_str!("../../shaders/sequence_common.wgsl"),
            Part::Cells => include_str!("../../shaders/cells.wgsl"),
        }
    }
}

/// What sits at a binding: the position in a kernel's list is its `@binding` index in group 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `var<uniform> params: Params`, bound with a dynamic offset.
    Params,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

use Binding::{Params as P, Read as R, ReadWrite as W};

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 8] = [
        Kernel::InputProjection,
        Kernel::RnnStep,
        Kernel::LstmStep,
        Kernel::GruStep,
        Kernel::LstmProjection,
        Kernel::RnnSequence,
        Kernel::LstmSequence,
        Kernel::GruSequence,
    ];

    /// The name shared by the file, the CPU twin and the label.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::InputProjection => "input_projection",
            Kernel::RnnStep => "rnn_step",
            Kernel::LstmStep => "lstm_step",
            Kernel::GruStep => "gru_step",
            Kernel::LstmProjection => "lstm_projection",
            Kernel::RnnSequence => "rnn_sequence",
            Kernel::LstmSequence => "lstm_sequence",
            Kernel::GruSequence => "gru_sequence",
        }
    }

    /// The wgpu label of its pipeline, `wgpu-rnn.NAME`.
    pub fn label(self) -> &'static str {
        match self {
            Kernel::InputProjection => "wgpu-rnn.input_projection",
            Kernel::RnnStep => "wgpu-rnn.rnn_step",
            Kernel::LstmStep => "wgpu-rnn.lstm_step",
            Kernel::GruStep => "wgpu-rnn.gru_step",
            Kernel::LstmProjection => "wgpu-rnn.lstm_projection",
            Kernel::RnnSequence => "wgpu-rnn.rnn_sequence",
            Kernel::LstmSequence => "wgpu-rnn.lstm_sequence",
            Kernel::GruSequence => "wgpu-rnn.gru_sequence",
        }
    }

    /// Its own file, `shaders/NAME.wgsl` (without the parts composed in front of it).
    pub fn file_source(self) -> &'static str {
        match self {
            Kernel::InputProjection => include_str!("../../shaders/input_projection.wgsl"),
            Kernel::RnnStep => include_str!("../../shaders/rnn_step.wgsl"),
            Kernel::LstmStep => include_str!("../../shaders/lstm_step.wgsl"),
            Kernel::GruStep => include_str!("../../shaders/gru_step.wgsl"),
            Kernel::LstmProjection => include_str!("../../shaders/lstm_projection.wgsl"),
            Kernel::RnnSequence => include_str!("../../shaders/rnn_sequence.wgsl"),
            Kernel::LstmSequence => include_str!("../../shaders/lstm_sequence.wgsl"),
            Kernel::GruSequence => include_str!("../../shaders/gru_sequence.wgsl"),
        }
    }

    /// The shared files composed in front of its own file, in order: the weight type, the
    /// [`Part::Prelude`], [`Part::Params`], then what its kind of kernel shares.
    pub fn parts(self) -> &'static [Part] {
        use Part::{Cells, Params, Prelude, SequenceCommon, StepCommon, StepGates, WeightsF32};
        match self {
            Kernel::InputProjection => &[WeightsF32, Prelude, Params],
            Kernel::RnnStep | Kernel::LstmProjection => &[WeightsF32, Prelude, Params, StepCommon],
            Kernel::LstmStep | Kernel::GruStep => {
                &[WeightsF32, Prelude, Params, StepCommon, StepGates, Cells]
            }
            Kernel::RnnSequence => &[WeightsF32, Prelude, Params, SequenceCommon],
            Kernel::LstmSequence | Kernel::GruSequence => {
                &[WeightsF32, Prelude, Params, SequenceCommon, Cells]
            }
        }
    }

    /// The WGSL module wgpu compiles: its [`Kernel::parts`] and its own file, concatenated whole
    /// (WGSL resolves module-scope names in any order, so a part may use what the kernel
    /// declares, such as its `output` binding).
    pub fn source(self) -> String {
        self.parts()
            .iter()
            .map(|part| part.source())
            .chain([self.file_source()])
            .collect()
    }

    /// The bindings of group 0, in `@binding` order.
    pub fn bindings(self) -> &'static [Binding] {
        match self {
            // params, x, w_ih, bias, lengths, gx
            Kernel::InputProjection => &[P, R, R, R, R, W],
            // params, gx, w_hh, lengths, h_prev, h_next, output
            Kernel::RnnStep => &[P, R, R, R, R, W, W],
            // params, gx, w_hh, lengths, h_prev, h_next (or u), c, output
            Kernel::LstmStep => &[P, R, R, R, R, W, W, W],
            // params, gx, w_hh, b_hn, lengths, h_prev, h_next, output
            Kernel::GruStep => &[P, R, R, R, R, R, W, W],
            // params, w_hr, lengths, u, h_prev, h_next, output
            Kernel::LstmProjection => &[P, R, R, R, R, W, W],
            // params, gx, w_hh, lengths, h, output
            Kernel::RnnSequence => &[P, R, R, R, W, W],
            // params, gx, w_hh, lengths, h, c, output, w_hr (a placeholder without projection)
            Kernel::LstmSequence => &[P, R, R, R, W, W, W, R],
            // params, gx, w_hh, b_hn, lengths, h, output
            Kernel::GruSequence => &[P, R, R, R, R, W, W],
        }
    }

    /// The step kernel of a family.
    pub fn step(family: Family) -> Kernel {
        match family {
            Family::Rnn => Kernel::RnnStep,
            Family::Lstm => Kernel::LstmStep,
            Family::Gru => Kernel::GruStep,
        }
    }

    /// The sequence (persistent, whole-chunk) kernel of a family.
    pub fn sequence(family: Family) -> Kernel {
        match family {
            Family::Rnn => Kernel::RnnSequence,
            Family::Lstm => Kernel::LstmSequence,
            Family::Gru => Kernel::GruSequence,
        }
    }
}

/// How a forward runs the recurrence of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanKind {
    /// One step-kernel dispatch per time step: every configuration, every adapter.
    PerStep,
    /// One sequence-kernel dispatch per layer (and projection chunk) looping over the steps
    /// inside with `workgroupBarrier()`, h in workgroup memory: no per-step dispatch cost. Needs
    /// `2·H_out` floats of workgroup memory per batch row a workgroup holds (plus `H` for an
    /// LSTM projection's `u`).
    Sequence,
}

/// Which [`PlanKind`] a model uses: chosen from the adapter ([`PlanChoice::Auto`]) or forced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlanChoice {
    /// [`PlanKind::Sequence`] where it is possible and expected to win, else
    /// [`PlanKind::PerStep`]: on GPUs for H ≤ [`SEQUENCE_GPU_MAX_HIDDEN`]; on CPU adapters
    /// (lavapipe) for the RNN and for H ≤ [`SEQUENCE_CPU_SERIAL_MAX_HIDDEN`], and for larger
    /// LSTM and GRU when the call has enough rows × directions to give every core a workgroup.
    #[default]
    Auto,
    /// Always [`PlanKind::PerStep`].
    PerStep,
    /// [`PlanKind::Sequence`] wherever possible (else [`PlanKind::PerStep`]).
    Sequence,
}

impl PlanChoice {
    /// The choice `WGPU_RNN_PLAN` names (`auto`, `step`, `sequence`); `Auto` when unset or
    /// unrecognised.
    pub fn from_env() -> Self {
        match std::env::var("WGPU_RNN_PLAN").as_deref() {
            Ok("step") | Ok("per-step") => PlanChoice::PerStep,
            Ok("sequence") => PlanChoice::Sequence,
            _ => PlanChoice::Auto,
        }
    }
}

/// Largest hidden size for which [`PlanChoice::Auto`] picks the sequence plan on a GPU (where a
/// dispatch costs a few µs and many workgroups run at once, one workgroup looping over W_hh only
/// wins for small layers). A starting point to be measured on real GPUs.
pub const SEQUENCE_GPU_MAX_HIDDEN: usize = 128;

/// Largest hidden size for which [`PlanChoice::Auto`] picks the sequence plan for an LSTM or GRU on
/// a CPU adapter even when the call leaves cores idle (one row, one direction: one workgroup).
/// Measured on lavapipe (2 cores, T = 100, batch 1): a step's W_hh loads cost about H²·4.6 ns on
/// one core, the per-step plan spreads them over the cores but pays ~40–110 µs per dispatch;
/// sequence / per-step: LSTM H = 128: 8.8 / 10.4 ms, H = 256: 35.5 / 20.0 ms; GRU 128: 9.9 /
/// 12.8 ms, GRU 256: 37.3 / 21.0 ms (BENCHMARKS.md, change #13). The RNN always takes the
/// sequence plan (its kernel loads 4 units per vec4, `rnn_step` one: H = 256: 8.9 / 21.8 ms, 512:
/// 33 / 71 ms).
pub const SEQUENCE_CPU_SERIAL_MAX_HIDDEN: usize = 192;

/// The shape of a sequence-kernel dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceTiling {
    /// Workgroup size `WG` along the hidden units (groups of 4 units for the RNN).
    pub wg: u32,
    /// Most batch rows one workgroup holds: a multiple of [`SEQUENCE_ROWS`], or a smaller power
    /// of two; the kernel's workgroup memory is `HBUF = 2·slice_max·⌈H_out/4⌉` vec4, plus
    /// `UBUF = slice_max·⌈H/4⌉` with an LSTM projection.
    pub slice_max: u32,
    /// On CPU adapters (one workgroup runs on one thread), the workgroups worth running at once:
    /// the batch is split into that many slices (over both directions). `None` on GPUs: one
    /// workgroup per [`SEQUENCE_ROWS`] rows.
    pub parallel: Option<u32>,
    /// Workgroups (over both directions) a call must fill for the sequence plan to be used; with
    /// fewer, the call runs per step. 1: always.
    pub min_workgroups: u32,
    /// Each invocation keeps its W_hh column (its unit, or the RNN's group of 4 units), and with
    /// an LSTM projection its projected feature's W_hr column, in private memory for the whole
    /// dispatch (`CACHE_W`): on CPU adapters, for H ≤ [`SEQUENCE_CACHE_MAX_HIDDEN`] when one pass
    /// of the workgroup covers every unit.
    pub cache_weights: bool,
}

/// Largest hidden size whose W_hh columns the sequence kernels keep in private memory on CPU
/// adapters (`KMAX` in `shaders/{rnn,lstm,gru}_sequence.wgsl`). Measured on lavapipe,
/// LSTM 64, T = 100: batch 1 2.69 → 2.04 ms, batch 32 22.6 → 17.8 ms.
pub const SEQUENCE_CACHE_MAX_HIDDEN: usize = 64;

impl SequenceTiling {
    /// Batch rows per workgroup for a call with `batch` rows and `dirs` directions.
    pub fn slice(&self, batch: usize, dirs: usize) -> u32 {
        let batch = u32::try_from(batch).unwrap_or(u32::MAX).max(1);
        let slice = match self.parallel {
            Some(p) => {
                let per_dir = (p / dirs as u32).max(1);
                batch.div_ceil(per_dir)
            }
            None => SEQUENCE_ROWS.min(batch),
        };
        slice.clamp(1, self.slice_max)
    }

    /// The register block `RB` for workgroups of `slice` rows: the smallest of 1, 2, 4,
    /// [`SEQUENCE_ROWS`] covering the slice (or all of it), so small batches load no padding rows.
    pub fn block_rows(slice: u32) -> u32 {
        slice.clamp(1, SEQUENCE_ROWS).next_power_of_two()
    }

    /// Workgroup memory entries (vec4) of the kernel's h: `2·slice_max·⌈H_out/4⌉`.
    pub fn hbuf(&self, config: &RnnConfig) -> u32 {
        self.slice_max.saturating_mul(row_vec4s(config).0)
    }

    /// Workgroup memory entries (vec4) of an LSTM projection's `u`: `slice_max·⌈H/4⌉` (1, unused,
    /// without a projection: WGSL arrays are never empty).
    pub fn ubuf(&self, config: &RnnConfig) -> u32 {
        self.slice_max.saturating_mul(row_vec4s(config).1).max(1)
    }
}

/// Workgroup memory (vec4) one batch row takes in a sequence kernel: its h, double-buffered
/// (`2·⌈H_out/4⌉`), and with an LSTM projection its u (`⌈H/4⌉`, else 0).
fn row_vec4s(config: &RnnConfig) -> (u32, u32) {
    let vec4s = |n: usize| u32::try_from(n.div_ceil(4)).unwrap_or(u32::MAX);
    let u = if config.proj_size > 0 {
        vec4s(config.hidden_size)
    } else {
        0
    };
    (vec4s(config.output_hidden()).saturating_mul(2), u)
}

/// What the plan decision reads of an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// A CPU adapter (lavapipe, llvmpipe, WARP, SwiftShader), where one workgroup runs on one
    /// host thread.
    pub cpu: bool,
    /// Host threads: the workgroups a CPU adapter runs at once.
    pub cores: u32,
    /// `max_compute_workgroup_storage_size`, bytes.
    pub workgroup_storage: u32,
    /// `max_compute_invocations_per_workgroup`.
    pub invocations: u32,
}

impl Target {
    /// The target of an adapter with `limits`, on this host.
    pub fn of(info: &wgpu::AdapterInfo, limits: &wgpu::Limits) -> Self {
        Self {
            cpu: info.device_type == wgpu::DeviceType::Cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            workgroup_storage: limits.max_compute_workgroup_storage_size,
            invocations: limits.max_compute_invocations_per_workgroup,
        }
    }
}

/// Workgroup shapes chosen per model, passed to the kernels as `override` constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Input projection workgroup `(WG_X, WG_Y)`: vec4 columns × row blocks (each invocation
    /// [`PROJECTION_COLS`] vec4 columns × [`PROJECTION_ROWS`] rows).
    pub projection: (u32, u32),
    /// Step kernel workgroup `WG` along the hidden units.
    pub step: u32,
    /// `lstm_projection` workgroup `WG` along the projected units.
    pub lstm_projection: u32,
    /// The sequence kernel's shape when the model uses [`PlanKind::Sequence`].
    pub sequence: Option<SequenceTiling>,
}

impl Tiling {
    /// The per-step plan's tiling: workgroups no wider than the work, so small hidden sizes use
    /// narrow workgroups (multiples of 8, lavapipe's SIMD width) and idle lanes do not dominate.
    pub fn for_config(config: &RnnConfig) -> Self {
        let cols4 = gx_cols4(config);
        let wg_x = (cols4 as u32)
            .div_ceil(PROJECTION_COLS)
            .next_power_of_two()
            .min(PROJECTION_WORKGROUP);
        Self {
            projection: (wg_x, PROJECTION_WORKGROUP / wg_x),
            step: narrow(config.hidden_size, STEP_WORKGROUP_MAX),
            lstm_projection: narrow(config.output_hidden(), STEP_WORKGROUP_MAX),
            sequence: None,
        }
    }

    /// The tiling of `config` on an adapter: the per-step tiling plus, where `choice` and the
    /// adapter (device type, workgroup memory, invocations) call for it, the sequence plan.
    pub fn for_device(
        config: &RnnConfig,
        info: &wgpu::AdapterInfo,
        limits: &wgpu::Limits,
        choice: PlanChoice,
    ) -> Self {
        Self::for_target(config, &Target::of(info, limits), choice)
    }

    /// [`Tiling::for_device`] from what it reads of the adapter.
    pub fn for_target(config: &RnnConfig, target: &Target, choice: PlanChoice) -> Self {
        let mut tiling = Self::for_config(config);
        let cpu = target.cpu;
        let wanted = match choice {
            PlanChoice::PerStep => false,
            PlanChoice::Sequence => true,
            PlanChoice::Auto => cpu || config.hidden_size <= SEQUENCE_GPU_MAX_HIDDEN,
        };
        // One vec4 is kept for the kernel's 1-entry `UBUF` without a projection.
        let (h_row, u_row) = row_vec4s(config);
        let per_row = h_row.saturating_add(u_row);
        let vec4s = (target.workgroup_storage / 16).saturating_sub(1);
        // Rows that fit: whole register blocks, or a power of two below one.
        let fit = vec4s / per_row.max(1);
        let fit = if fit >= SEQUENCE_ROWS {
            fit / SEQUENCE_ROWS * SEQUENCE_ROWS
        } else if fit == 0 {
            0
        } else {
            1 << fit.ilog2()
        };
        if !wanted || fit == 0 {
            return tiling;
        }
        let cores = target.cores;
        let (wg_max, slice_max, parallel) = if cpu {
            (STEP_WORKGROUP_MAX, fit.min(64), Some(cores))
        } else {
            (256, fit.min(SEQUENCE_ROWS), None)
        };
        let serial_loses = choice == PlanChoice::Auto
            && cpu
            && config.family() != Family::Rnn
            && config.hidden_size > SEQUENCE_CPU_SERIAL_MAX_HIDDEN;
        let wg_max = wg_max.min(target.invocations);
        // The RNN kernel's invocations own 4 units each (vec4 of W_hh), the others one unit.
        let units = if config.family() == Family::Rnn {
            config.hidden_size.div_ceil(4)
        } else {
            config.hidden_size
        };
        let wg = narrow(units, wg_max);
        tiling.sequence = Some(SequenceTiling {
            wg,
            cache_weights: cpu
                && config.hidden_size <= SEQUENCE_CACHE_MAX_HIDDEN
                && units <= wg as usize,
            slice_max,
            parallel,
            min_workgroups: if serial_loses { cores } else { 1 },
        });
        tiling
    }

    /// The plan kind this tiling runs for calls large enough (see
    /// [`SequenceTiling::min_workgroups`]; [`crate::gpu::plan::Plan::kind`] says per call).
    pub fn kind(&self) -> PlanKind {
        match self.sequence {
            Some(_) => PlanKind::Sequence,
            None => PlanKind::PerStep,
        }
    }
}

/// `units` rounded up to a multiple of 8, at most `max`.
fn narrow(units: usize, max: u32) -> u32 {
    let units = u32::try_from(units).unwrap_or(u32::MAX);
    units.div_ceil(8).saturating_mul(8).min(max).max(1)
}

/// `G·H` rounded up to a multiple of 4, divided by 4: the vec4 columns of the projection.
pub fn gx_cols4(config: &RnnConfig) -> usize {
    (config.gate_count() * config.hidden_size).div_ceil(4)
}

/// One pipeline a plan builds: a kernel and the values of its `override` constants.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The kernel.
    pub kernel: Kernel,
    /// Its override constants, by name.
    pub constants: Vec<(&'static str, f64)>,
}

impl Kernel {
    /// The `override` constants of its pipeline for `config` with `tiling`; `block_rows` is a
    /// sequence kernel's register block `RB` (1, 2, 4 or [`SEQUENCE_ROWS`]; unused by the
    /// others). `None` for a sequence kernel when `tiling` has no sequence plan.
    pub fn constants(
        self,
        config: &RnnConfig,
        tiling: &Tiling,
        block_rows: u32,
    ) -> Option<Vec<(&'static str, f64)>> {
        let relu = ("RELU", f64::from(config.nonlinearity == Nonlinearity::Relu));
        let proj = ("PROJ", f64::from(config.proj_size > 0));
        let step_wg = ("WG", f64::from(tiling.step));
        let sequence = |own: &[(&'static str, f64)]| {
            let seq = tiling.sequence?;
            let mut constants = vec![
                ("WG", f64::from(seq.wg)),
                ("HBUF", f64::from(seq.hbuf(config))),
                ("RB", f64::from(block_rows)),
                ("CACHE_W", f64::from(seq.cache_weights)),
            ];
            constants.extend_from_slice(own);
            Some(constants)
        };
        match self {
            Kernel::InputProjection => {
                let (wg_x, wg_y) = tiling.projection;
                Some(vec![("WG_X", f64::from(wg_x)), ("WG_Y", f64::from(wg_y))])
            }
            Kernel::RnnStep => Some(vec![step_wg, relu]),
            Kernel::LstmStep => Some(vec![step_wg, proj]),
            Kernel::GruStep => Some(vec![step_wg]),
            Kernel::LstmProjection => Some(vec![("WG", f64::from(tiling.lstm_projection))]),
            Kernel::RnnSequence => sequence(&[relu]),
            Kernel::LstmSequence => {
                let ubuf = tiling.sequence.map_or(1, |seq| seq.ubuf(config));
                sequence(&[proj, ("UBUF", f64::from(ubuf))])
            }
            Kernel::GruSequence => sequence(&[]),
        }
    }
}

/// Every pipeline the plans build for `config` on `target`, under every [`PlanChoice`] and for
/// every register block a call shape can get: the per-step kernels of its family, and the
/// sequence kernel with `RB` = 1, 2, 4 and [`SEQUENCE_ROWS`] where a sequence tiling fits.
pub fn variants_for(config: &RnnConfig, target: &Target) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::new();
    let mut add = |kernel: Kernel, constants: Option<Vec<(&'static str, f64)>>| {
        if let Some(constants) = constants {
            let variant = Variant { kernel, constants };
            if !out.contains(&variant) {
                out.push(variant);
            }
        }
    };
    for choice in [PlanChoice::Auto, PlanChoice::PerStep, PlanChoice::Sequence] {
        let tiling = Tiling::for_target(config, target, choice);
        let family = config.family();
        let mut kernels = vec![Kernel::InputProjection, Kernel::step(family)];
        if config.proj_size > 0 {
            kernels.push(Kernel::LstmProjection);
        }
        for kernel in kernels {
            add(kernel, kernel.constants(config, &tiling, 0));
        }
        for rb in [1, 2, 4, SEQUENCE_ROWS] {
            let kernel = Kernel::sequence(family);
            add(kernel, kernel.constants(config, &tiling, rb));
        }
    }
    out
}

/// Every kernel × override combination the plans use, over a catalogue of models and adapters:
/// each family (the RNN with tanh and relu, the LSTM with and without a projection) with hidden
/// sizes on both sides of each threshold of the plan decision (cached weights, serial sequence,
/// the GPU's sequence limit, a hidden size no multiple of 4), on a CPU adapter (lavapipe's
/// limits) and a GPU (wgpu's default limits, 256 invocations). Deduplicated; for translating and
/// validating every pipeline without a device.
pub fn all_variants() -> Vec<Variant> {
    let cpu = Target {
        cpu: true,
        cores: 2,
        workgroup_storage: 32768,
        invocations: 1024,
    };
    let gpu = Target {
        cpu: false,
        cores: 1,
        workgroup_storage: 16384,
        invocations: 256,
    };
    let mut configs = Vec::new();
    for hidden in [7, 64, 130, 300] {
        configs.push(RnnConfig::rnn(5, hidden));
        configs.push(RnnConfig::rnn(5, hidden).with_nonlinearity(Nonlinearity::Relu));
        configs.push(RnnConfig::lstm(5, hidden));
        configs.push(RnnConfig::lstm(5, hidden).with_proj_size(hidden / 2));
        configs.push(RnnConfig::gru(5, hidden));
    }
    let mut out: Vec<Variant> = Vec::new();
    for config in &configs {
        for target in [&cpu, &gpu] {
            for variant in variants_for(config, target) {
                if !out.contains(&variant) {
                    out.push(variant);
                }
            }
        }
    }
    out
}

/// One kernel's layout and pipeline.
#[derive(Debug)]
pub struct Pipeline {
    /// The bind group layout of group 0, built from [`Kernel::bindings`].
    pub layout: wgpu::BindGroupLayout,
    /// The compute pipeline, labelled [`Kernel::label`].
    pub pipeline: wgpu::ComputePipeline,
}

/// The bind group layout of `kernel`, from its binding list.
pub fn bind_group_layout(device: &wgpu::Device, kernel: Kernel) -> wgpu::BindGroupLayout {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = kernel
        .bindings()
        .iter()
        .enumerate()
        .map(|(i, binding)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: match binding {
                Binding::Params => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64),
                },
                Binding::Read | Binding::ReadWrite => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage {
                        read_only: *binding == Binding::Read,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
            },
            count: None,
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(kernel.label()),
        entries: &entries,
    })
}

/// Builds `kernel`'s pipeline with its `override` constants.
pub fn build_pipeline(
    device: &wgpu::Device,
    kernel: Kernel,
    constants: &[(&str, f64)],
) -> Pipeline {
    let layout = bind_group_layout(device, kernel);
    let pipeline = build_pipeline_with_layout(device, kernel, &layout, constants);
    Pipeline { layout, pipeline }
}

/// Builds `kernel`'s pipeline on an existing bind group layout (see [`bind_group_layout`]).
pub fn build_pipeline_with_layout(
    device: &wgpu::Device,
    kernel: Kernel,
    layout: &wgpu::BindGroupLayout,
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(kernel.label()),
        source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(kernel.label()),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(kernel.label()),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    })
}

/// The pipelines one model uses: the input projection, its family's step kernel, and
/// `lstm_projection` when the LSTM has `proj_size > 0`.
#[derive(Debug)]
pub struct Pipelines {
    /// `input_projection`.
    pub input_projection: Pipeline,
    /// `rnn_step`, `lstm_step` or `gru_step`.
    pub step: Pipeline,
    /// `lstm_projection`, for LSTM with a projection.
    pub lstm_projection: Option<Pipeline>,
    /// The bind group layout of `rnn_sequence`, `lstm_sequence` or `gru_sequence`, for the
    /// sequence plan (its pipelines are built per call shape: [`Pipelines::sequence_pipeline`]).
    pub sequence_layout: Option<wgpu::BindGroupLayout>,
}

impl Pipelines {
    /// Builds the pipelines of `config` with `tiling`.
    pub fn new(device: &wgpu::Device, config: &RnnConfig, tiling: &Tiling) -> Self {
        let build = |kernel: Kernel| {
            let constants = kernel
                .constants(config, tiling, 0)
                .expect("per-step kernels have constants for every tiling");
            build_pipeline(device, kernel, &constants)
        };
        Self {
            input_projection: build(Kernel::InputProjection),
            step: build(Kernel::step(config.family())),
            lstm_projection: (config.proj_size > 0).then(|| build(Kernel::LstmProjection)),
            sequence_layout: tiling
                .sequence
                .map(|_| bind_group_layout(device, Kernel::sequence(config.family()))),
        }
    }

    /// The sequence kernel's pipeline for register blocks of `block_rows` rows (`RB`).
    pub fn sequence_pipeline(
        &self,
        device: &wgpu::Device,
        config: &RnnConfig,
        tiling: &Tiling,
        block_rows: u32,
    ) -> Option<wgpu::ComputePipeline> {
        let kernel = Kernel::sequence(config.family());
        let constants = kernel.constants(config, tiling, block_rows)?;
        let layout = self.sequence_layout.as_ref()?;
        Some(build_pipeline_with_layout(
            device, kernel, layout, &constants,
        ))
    }

    /// The pipeline of `kernel`.
    pub fn get(&self, kernel: Kernel) -> &Pipeline {
        match kernel {
            Kernel::InputProjection => &self.input_projection,
            Kernel::LstmProjection => self
                .lstm_projection
                .as_ref()
                .expect("plans use lstm_projection only for models that built it"),
            Kernel::RnnSequence | Kernel::LstmSequence | Kernel::GruSequence => {
                panic!("sequence pipelines are built per call shape (Pipelines::sequence_pipeline)")
            }
            _ => &self.step,
        }
    }
}
