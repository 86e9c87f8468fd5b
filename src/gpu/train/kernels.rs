//! The training kernels: their sources (`shaders/train/*.wgsl`, each composed from shared parts
//! and its own file), their bindings declared once as data, the uniforms they read, and the
//! pipelines a trainer builds.
//!
//! Each kernel has one name everywhere: the file `shaders/train/NAME.wgsl`, the CPU twin (in
//! [`crate::reference`], [`crate::reference_backward`] or [`crate::optim`]), the
//! [`TrainKernel`] variant and the wgpu label `"wgpu-rnn.NAME"`.

use crate::config::{Family, Nonlinearity, RnnConfig};
use crate::gpu::kernels::{Binding, Part};
pub use crate::gpu::train::uniforms::*;

/// Invocations per optimizer workgroup. Keep in sync with `WG` in `shaders/train/optim_common.wgsl`.
pub const OPTIMIZER_WORKGROUP: u32 = 256;
/// Rows of C one GEMM invocation computes.
pub const GEMM_TM: u32 = 4;
/// Invocations per `gemm` workgroup (`WG`), laid out per dispatch as [`Gemm::lanes_x`] columns ×
/// the rest rows. Keep in sync with `shaders/train/gemm.wgsl`.
pub const GEMM_WORKGROUP: u32 = 64;
/// Columns of C one GEMM invocation computes.
pub const GEMM_TN: u32 = 4;
/// A shared file of `shaders/train/`, composed in front of the kernels that list it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrainPart {
    /// `shaders/prelude.wgsl`, shared with the forward kernels ([`Part::Prelude`]): the
    /// numerically safe activations, the NaN test, `step_time`.
    Prelude,
    /// `train_common.wgsl`: [`TrainParams`] and the index helpers of the step kernels.
    TrainCommon,
    /// `optim_common.wgsl`: [`OptParams`] and the optimizer flags.
    OptimCommon,
}

impl TrainPart {
    /// Every part.
    pub const ALL: [TrainPart; 3] = [
        TrainPart::Prelude,
        TrainPart::TrainCommon,
        TrainPart::OptimCommon,
    ];

    /// Its file name without `.wgsl`.
    pub fn name(self) -> &'static str {
        match self {
            TrainPart::Prelude => Part::Prelude.name(),
            TrainPart::TrainCommon => "train_common",
            TrainPart::OptimCommon => "optim_common",
        }
    }

    /// The WGSL text.
    pub fn source(self) -> &'static str {
        match self {
            TrainPart::Prelude => Part::Prelude.source(),
            TrainPart::TrainCommon => include_str!("../../../shaders/train/train_common.wgsl"),
            TrainPart::OptimCommon => include_str!("../../../shaders/train/optim_common.wgsl"),
        }
    }
}

/// The training kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrainKernel {
    /// `gemm.wgsl`.
    Gemm,
    /// `rnn_step_train.wgsl`.
    RnnStepTrain,
    /// `lstm_step_train.wgsl`.
    LstmStepTrain,
    /// `gru_step_train.wgsl`.
    GruStepTrain,
    /// `lstm_projection_train.wgsl`.
    LstmProjectionTrain,
    /// `rnn_step_backward.wgsl`.
    RnnStepBackward,
    /// `lstm_step_backward.wgsl`.
    LstmStepBackward,
    /// `gru_step_backward.wgsl`.
    GruStepBackward,
    /// `lstm_projection_backward.wgsl`.
    LstmProjectionBackward,
    /// `mse_loss.wgsl`.
    MseLoss,
    /// `optimizer_prepare.wgsl`.
    OptimizerPrepare,
    /// `sgd_step.wgsl`.
    SgdStep,
    /// `adam_step.wgsl`.
    AdamStep,
}

use Binding::{Params as U, Read as R, ReadWrite as W};

impl TrainKernel {
    /// Every training kernel.
    pub const ALL: [TrainKernel; 13] = [
        TrainKernel::Gemm,
        TrainKernel::RnnStepTrain,
        TrainKernel::LstmStepTrain,
        TrainKernel::GruStepTrain,
        TrainKernel::LstmProjectionTrain,
        TrainKernel::RnnStepBackward,
        TrainKernel::LstmStepBackward,
        TrainKernel::GruStepBackward,
        TrainKernel::LstmProjectionBackward,
        TrainKernel::MseLoss,
        TrainKernel::OptimizerPrepare,
        TrainKernel::SgdStep,
        TrainKernel::AdamStep,
    ];

    /// The name shared by the file, the CPU twin and the label.
    pub fn name(self) -> &'static str {
        self.label().trim_start_matches("wgpu-rnn.")
    }

    /// The wgpu label of its pipeline, `wgpu-rnn.NAME`.
    pub fn label(self) -> &'static str {
        match self {
            TrainKernel::Gemm => "wgpu-rnn.gemm",
            TrainKernel::RnnStepTrain => "wgpu-rnn.rnn_step_train",
            TrainKernel::LstmStepTrain => "wgpu-rnn.lstm_step_train",
            TrainKernel::GruStepTrain => "wgpu-rnn.gru_step_train",
            TrainKernel::LstmProjectionTrain => "wgpu-rnn.lstm_projection_train",
            TrainKernel::RnnStepBackward => "wgpu-rnn.rnn_step_backward",
            TrainKernel::LstmStepBackward => "wgpu-rnn.lstm_step_backward",
            TrainKernel::GruStepBackward => "wgpu-rnn.gru_step_backward",
            TrainKernel::LstmProjectionBackward => "wgpu-rnn.lstm_projection_backward",
            TrainKernel::MseLoss => "wgpu-rnn.mse_loss",
            TrainKernel::OptimizerPrepare => "wgpu-rnn.optimizer_prepare",
            TrainKernel::SgdStep => "wgpu-rnn.sgd_step",
            TrainKernel::AdamStep => "wgpu-rnn.adam_step",
        }
    }

    /// Its own file, `shaders/train/NAME.wgsl`.
    pub fn file_source(self) -> &'static str {
        match self {
            TrainKernel::Gemm => include_str!("../../../shaders/train/gemm.wgsl"),
            TrainKernel::RnnStepTrain => include_str!("../../../shaders/train/rnn_step_train.wgsl"),
            TrainKernel::LstmStepTrain => {
                include_str!("../../../shaders/train/lstm_step_train.wgsl")
            }
            TrainKernel::GruStepTrain => include_str!("../../../shaders/train/gru_step_train.wgsl"),
            TrainKernel::LstmProjectionTrain => {
                include_str!("../../../shaders/train/lstm_projection_train.wgsl")
            }
            TrainKernel::RnnStepBackward => {
                include_str!("../../../shaders/train/rnn_step_backward.wgsl")
            }
            TrainKernel::LstmStepBackward => {
                include_str!("../../../shaders/train/lstm_step_backward.wgsl")
            }
            TrainKernel::GruStepBackward => {
                include_str!("../../../shaders/train/gru_step_backward.wgsl")
            }
            TrainKernel::LstmProjectionBackward => {
                include_str!("../../../shaders/train/lstm_projection_backward.wgsl")
            }
            TrainKernel::MseLoss => include_str!("../../../shaders/train/mse_loss.wgsl"),
            TrainKernel::OptimizerPrepare => {
                include_str!("../../../shaders/train/optimizer_prepare.wgsl")
            }
            TrainKernel::SgdStep => include_str!("../../../shaders/train/sgd_step.wgsl"),
            TrainKernel::AdamStep => include_str!("../../../shaders/train/adam_step.wgsl"),
        }
    }

    /// The shared files composed in front of its own file.
    pub fn parts(self) -> &'static [TrainPart] {
        match self {
            TrainKernel::Gemm | TrainKernel::MseLoss => &[],
            TrainKernel::OptimizerPrepare | TrainKernel::SgdStep | TrainKernel::AdamStep => {
                &[TrainPart::OptimCommon]
            }
            TrainKernel::RnnStepTrain
            | TrainKernel::LstmStepTrain
            | TrainKernel::GruStepTrain
            | TrainKernel::LstmProjectionTrain
            | TrainKernel::RnnStepBackward
            | TrainKernel::LstmStepBackward
            | TrainKernel::GruStepBackward
            | TrainKernel::LstmProjectionBackward => &[TrainPart::Prelude, TrainPart::TrainCommon],
        }
    }

    /// The WGSL module wgpu compiles: its parts and its own file, concatenated whole.
    pub fn source(self) -> String {
        self.parts()
            .iter()
            .map(|p| p.source())
            .chain([self.file_source()])
            .collect()
    }

    /// The bindings of group 0, in `@binding` order ([`Binding::Params`] is the kernel's
    /// uniform, bound with a dynamic offset).
    pub fn bindings(self) -> &'static [Binding] {
        match self {
            // p, a, b, bias, c
            TrainKernel::Gemm => &[U, R, R, R, W],
            // tp, params, gx, lengths, init, output, saved, final
            TrainKernel::RnnStepTrain | TrainKernel::LstmStepTrain | TrainKernel::GruStepTrain => {
                &[U, R, R, R, R, W, W, W]
            }
            // tp, params, lengths, saved, output, final
            TrainKernel::LstmProjectionTrain => &[U, R, R, R, W, W],
            // tp, params, lengths, saved, init, d_out, dg, state, grad_init
            TrainKernel::RnnStepBackward
            | TrainKernel::LstmStepBackward
            | TrainKernel::GruStepBackward => &[U, R, R, R, R, R, W, W, W],
            // tp, params, lengths, d_out, dg, state, grad_init
            TrainKernel::LstmProjectionBackward => &[U, R, R, R, W, W, W],
            // lp, output, wanted, d_out, loss
            TrainKernel::MseLoss => &[U, R, R, W, W],
            // op, grads, scalars
            TrainKernel::OptimizerPrepare => &[U, R, W],
            // op, params, grads, state, scalars
            TrainKernel::SgdStep | TrainKernel::AdamStep => &[U, W, W, W, R],
        }
    }

    /// Bytes of its uniform.
    pub fn uniform_size(self) -> u64 {
        let size = match self {
            TrainKernel::Gemm => std::mem::size_of::<Gemm>(),
            TrainKernel::MseLoss => std::mem::size_of::<LossParams>(),
            TrainKernel::OptimizerPrepare | TrainKernel::SgdStep | TrainKernel::AdamStep => {
                std::mem::size_of::<OptParams>()
            }
            _ => std::mem::size_of::<TrainParams>(),
        };
        size as u64
    }

    /// The forward step kernel of a family.
    pub fn step_train(family: Family) -> TrainKernel {
        match family {
            Family::Rnn => TrainKernel::RnnStepTrain,
            Family::Lstm => TrainKernel::LstmStepTrain,
            Family::Gru => TrainKernel::GruStepTrain,
        }
    }

    /// The backward step kernel of a family.
    pub fn step_backward(family: Family) -> TrainKernel {
        match family {
            Family::Rnn => TrainKernel::RnnStepBackward,
            Family::Lstm => TrainKernel::LstmStepBackward,
            Family::Gru => TrainKernel::GruStepBackward,
        }
    }

    /// Invocations per workgroup of the step kernels (`WG`), numbered along the units then the
    /// rows.
    pub const STEP_WORKGROUP: u32 = 64;

    /// The `override` constants of its pipeline for `config`.
    pub fn constants(self, config: &RnnConfig) -> Vec<(&'static str, f64)> {
        let wg = Self::STEP_WORKGROUP;
        let relu = f64::from(config.nonlinearity == Nonlinearity::Relu);
        let proj = f64::from(config.proj_size > 0);
        match self {
            TrainKernel::Gemm => vec![("WG", f64::from(GEMM_WORKGROUP))],
            TrainKernel::RnnStepTrain | TrainKernel::RnnStepBackward => {
                vec![("WG", f64::from(wg)), ("RELU", relu)]
            }
            TrainKernel::LstmStepTrain | TrainKernel::LstmStepBackward => {
                vec![("WG", f64::from(wg)), ("PROJ", proj)]
            }
            TrainKernel::GruStepTrain
            | TrainKernel::GruStepBackward
            | TrainKernel::LstmProjectionTrain
            | TrainKernel::LstmProjectionBackward => vec![("WG", f64::from(wg))],
            TrainKernel::MseLoss
            | TrainKernel::OptimizerPrepare
            | TrainKernel::SgdStep
            | TrainKernel::AdamStep => vec![("WG", f64::from(OPTIMIZER_WORKGROUP))],
        }
    }
}

/// One training kernel's layout and pipeline.
#[derive(Debug)]
pub struct TrainPipeline {
    /// The bind group layout of group 0, built from [`TrainKernel::bindings`].
    pub layout: wgpu::BindGroupLayout,
    /// The compute pipeline, labelled [`TrainKernel::label`].
    pub pipeline: wgpu::ComputePipeline,
}

impl TrainPipeline {
    /// Builds `kernel`'s pipeline for `config`.
    pub fn new(device: &wgpu::Device, kernel: TrainKernel, config: &RnnConfig) -> Self {
        let entries: Vec<wgpu::BindGroupLayoutEntry> = kernel
            .bindings()
            .iter()
            .enumerate()
            .map(|(i, binding)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match binding {
                        Binding::Params => wgpu::BufferBindingType::Uniform,
                        Binding::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Binding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: *binding == Binding::Params,
                    min_binding_size: match binding {
                        Binding::Params => wgpu::BufferSize::new(kernel.uniform_size()),
                        _ => None,
                    },
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(kernel.label()),
            entries: &entries,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.label()),
            source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel.label()),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let constants = kernel.constants(config);
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.label()),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        Self { layout, pipeline }
    }
}
