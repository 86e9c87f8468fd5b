//! The WGSL kernels: their sources (`shaders/*.wgsl`), their bindings declared once as data, the
//! uniform [`Params`] they share, and the per-model pipelines built from them.
//!
//! Each kernel has one name everywhere: the file `shaders/NAME.wgsl`, the CPU twin in
//! [`crate::cpu`], the [`Kernel`] variant and the wgpu label `"wgpu-rnn.NAME"`.

use crate::config::{Family, RnnConfig};

/// Batch rows one step-kernel invocation computes. Keep in sync with `ROWS` in
/// `shaders/{rnn,lstm,gru}_step.wgsl` and `shaders/lstm_projection.wgsl`.
pub const STEP_ROWS: u32 = 4;
/// Rows (step × batch row) one input-projection invocation computes. Keep in sync with `ROWS` in
/// `shaders/input_projection.wgsl`.
pub const PROJECTION_ROWS: u32 = 8;
/// Invocations per input-projection workgroup (`WG_X · WG_Y`).
pub const PROJECTION_WORKGROUP: u32 = 64;
/// Largest step-kernel workgroup (`WG`), along the hidden units.
pub const STEP_WORKGROUP_MAX: u32 = 64;
/// Bytes between consecutive [`Params`] entries of the per-step table (the dynamic-offset stride;
/// WebGPU allows `min_uniform_buffer_offset_alignment` of at most 256).
pub const PARAMS_STRIDE: u64 = 256;

/// The uniform every kernel reads through a dynamic offset into the per-step table.
///
/// Keep in sync with `struct Params` in every `shaders/*.wgsl` (checked by `tests/gpu_shaders.rs`).
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
    pub const ALL: [Kernel; 5] = [
        Kernel::InputProjection,
        Kernel::RnnStep,
        Kernel::LstmStep,
        Kernel::GruStep,
        Kernel::LstmProjection,
    ];

    /// The name shared by the file, the CPU twin and the label.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::InputProjection => "input_projection",
            Kernel::RnnStep => "rnn_step",
            Kernel::LstmStep => "lstm_step",
            Kernel::GruStep => "gru_step",
            Kernel::LstmProjection => "lstm_projection",
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
        }
    }

    /// The WGSL source.
    pub fn source(self) -> &'static str {
        match self {
            Kernel::InputProjection => include_str!("../../shaders/input_projection.wgsl"),
            Kernel::RnnStep => include_str!("../../shaders/rnn_step.wgsl"),
            Kernel::LstmStep => include_str!("../../shaders/lstm_step.wgsl"),
            Kernel::GruStep => include_str!("../../shaders/gru_step.wgsl"),
            Kernel::LstmProjection => include_str!("../../shaders/lstm_projection.wgsl"),
        }
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
}

/// Workgroup shapes chosen per model, passed to the kernels as `override` constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Input projection workgroup `(WG_X, WG_Y)`: vec4 columns × row blocks.
    pub projection: (u32, u32),
    /// Step kernel workgroup `WG` along the hidden units.
    pub step: u32,
    /// `lstm_projection` workgroup `WG` along the projected units.
    pub lstm_projection: u32,
}

impl Tiling {
    /// Workgroups no wider than the work: small hidden sizes use narrow workgroups (multiples of 8,
    /// lavapipe's SIMD width) so idle lanes do not dominate.
    pub fn for_config(config: &RnnConfig) -> Self {
        let narrow = |units: usize| -> u32 {
            let units = u32::try_from(units).unwrap_or(u32::MAX);
            units.div_ceil(8).saturating_mul(8).min(STEP_WORKGROUP_MAX)
        };
        let cols4 = gx_cols4(config);
        let wg_x = (cols4 as u32).next_power_of_two().min(PROJECTION_WORKGROUP);
        Self {
            projection: (wg_x, PROJECTION_WORKGROUP / wg_x),
            step: narrow(config.hidden_size),
            lstm_projection: narrow(config.output_hidden()),
        }
    }
}

/// `G·H` rounded up to a multiple of 4, divided by 4: the vec4 columns of the projection.
pub fn gx_cols4(config: &RnnConfig) -> usize {
    (config.gate_count() * config.hidden_size).div_ceil(4)
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
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(kernel.label()),
        source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
    });
    let layout = bind_group_layout(device, kernel);
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(kernel.label()),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(kernel.label()),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    });
    Pipeline { layout, pipeline }
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
}

impl Pipelines {
    /// Builds the pipelines of `config` with `tiling`.
    pub fn new(device: &wgpu::Device, config: &RnnConfig, tiling: &Tiling) -> Self {
        let (wg_x, wg_y) = tiling.projection;
        let input_projection = build_pipeline(
            device,
            Kernel::InputProjection,
            &[("WG_X", wg_x as f64), ("WG_Y", wg_y as f64)],
        );
        let wg = ("WG", tiling.step as f64);
        let relu = f64::from(config.nonlinearity == crate::config::Nonlinearity::Relu);
        let proj = f64::from(config.proj_size > 0);
        let kernel = Kernel::step(config.family());
        let step = match config.family() {
            Family::Rnn => build_pipeline(device, kernel, &[wg, ("RELU", relu)]),
            Family::Lstm => build_pipeline(device, kernel, &[wg, ("PROJ", proj)]),
            Family::Gru => build_pipeline(device, kernel, &[wg]),
        };
        let lstm_projection = (config.proj_size > 0).then(|| {
            build_pipeline(
                device,
                Kernel::LstmProjection,
                &[("WG", tiling.lstm_projection as f64)],
            )
        });
        Self {
            input_projection,
            step,
            lstm_projection,
        }
    }

    /// The pipeline of `kernel`.
    pub fn get(&self, kernel: Kernel) -> &Pipeline {
        match kernel {
            Kernel::InputProjection => &self.input_projection,
            Kernel::LstmProjection => self
                .lstm_projection
                .as_ref()
                .expect("plans use lstm_projection only for models that built it"),
            _ => &self.step,
        }
    }
}
