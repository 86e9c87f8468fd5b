//! Choosing where a command computes: the fast CPU path, the f64 CPU reference, or a GPU model
//! on wgpu's adapter.

use std::sync::Arc;

use clap::ValueEnum;
use wgpu_rnn::{CpuModel, Error, ForwardOutput, GpuContext, GpuModel, InputFile, Model};

/// The `--device` flag.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// The fast f32 CPU path (all cores, SIMD).
    Cpu,
    /// The f64 CPU reference: exact, slow; the yardstick the other devices are checked against.
    Reference,
    /// The wgpu GPU path (the adapter `WGPU_BACKEND`, `WGPU_ADAPTER_NAME` and `WGPU_POWER_PREF`
    /// select).
    Gpu,
    /// The GPU when an adapter exists, else the fast CPU path with a notice on stderr.
    Auto,
}

/// A model ready to run on the chosen device.
pub enum Backend<'m> {
    /// The fast CPU path.
    Cpu(Box<CpuModel>),
    /// The f64 reference.
    Reference(&'m Model),
    /// A GPU model.
    Gpu(Box<GpuModel>),
}

impl<'m> Backend<'m> {
    /// Builds the backend `choice` names; `auto` falls back to the fast CPU path when no adapter
    /// exists.
    pub fn choose(choice: DeviceChoice, model: &'m Model) -> Result<Self, Error> {
        match choice {
            DeviceChoice::Cpu => return Ok(Backend::Cpu(Box::new(CpuModel::new(model)))),
            DeviceChoice::Reference => return Ok(Backend::Reference(model)),
            DeviceChoice::Gpu | DeviceChoice::Auto => {}
        }
        match GpuContext::new() {
            Ok(context) => Ok(Backend::Gpu(Box::new(GpuModel::new(
                model,
                Arc::new(context),
            )?))),
            Err(e) if choice == DeviceChoice::Auto => {
                let cpu = Backend::Cpu(Box::new(CpuModel::new(model)));
                eprintln!("wgpu-rnn: notice: {e}; running on the {}", cpu.describe());
                Ok(cpu)
            }
            Err(Error::DeviceUnavailable(reason)) => Err(Error::DeviceUnavailable(format!(
                "{reason} (`wgpu-rnn info` lists the adapters wgpu sees)"
            ))),
            Err(e) => Err(e),
        }
    }

    /// Runs one forward.
    pub fn forward(&self, args: &InputFile) -> Result<ForwardOutput, Error> {
        match self {
            Backend::Cpu(model) => model.forward(&args.as_forward()),
            Backend::Reference(model) => model.forward_reference(&args.as_forward()),
            Backend::Gpu(model) => model.forward(&args.as_forward()),
        }
    }

    /// What computes: "cpu (fast f32 CPU path, N threads)", "reference (f64 CPU reference)", or
    /// the adapter's name and backend.
    pub fn describe(&self) -> String {
        match self {
            Backend::Cpu(_) => format!(
                "cpu (fast f32 CPU path, {} threads)",
                wgpu_rnn::cpu::threads()
            ),
            Backend::Reference(_) => "reference (f64 CPU reference)".into(),
            Backend::Gpu(model) => {
                let info = model.context().adapter_info();
                format!("{} ({:?})", info.name, info.backend)
            }
        }
    }
}

/// Where a backward runs for `choice`: a GPU context, or `None` for the f64 reference (`auto`
/// without an adapter, with a notice). The fast CPU path has no backward: `cpu` is refused with
/// the devices that have one.
pub fn backward_device(choice: DeviceChoice) -> Result<Option<GpuContext>, Error> {
    match choice {
        DeviceChoice::Cpu => Err(Error::DeviceUnavailable(
            "the fast CPU path (--device cpu) has no backward; use --device reference (the f64 CPU reference) or --device gpu".into(),
        )),
        DeviceChoice::Reference => Ok(None),
        DeviceChoice::Gpu => GpuContext::new().map(Some),
        DeviceChoice::Auto => match GpuContext::new() {
            Ok(context) => Ok(Some(context)),
            Err(e) => {
                eprintln!("wgpu-rnn: notice: {e}; computing on the reference (f64 CPU)");
                Ok(None)
            }
        },
    }
}
