//! Choosing where a command computes: the CPU reference or a GPU model on wgpu's adapter.

use std::sync::Arc;

use clap::ValueEnum;
use wgpu_rnn::{Error, ForwardOutput, GpuContext, GpuModel, InputFile, Model};

/// The `--device` flag.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// The f64 CPU reference.
    Cpu,
    /// The wgpu GPU path (the adapter `WGPU_BACKEND`, `WGPU_ADAPTER_NAME` and `WGPU_POWER_PREF`
    /// select).
    Gpu,
    /// The GPU when an adapter exists, else the CPU with a notice on stderr.
    Auto,
}

/// A model ready to run on the chosen device.
pub enum Backend<'m> {
    /// The CPU reference.
    Cpu(&'m Model),
    /// A GPU model.
    Gpu(Box<GpuModel>),
}

impl<'m> Backend<'m> {
    /// Builds the backend `choice` names; `auto` falls back to the CPU when no adapter exists.
    pub fn choose(choice: DeviceChoice, model: &'m Model) -> Result<Self, Error> {
        if choice == DeviceChoice::Cpu {
            return Ok(Backend::Cpu(model));
        }
        match GpuContext::new() {
            Ok(context) => Ok(Backend::Gpu(Box::new(GpuModel::new(
                model,
                Arc::new(context),
            )?))),
            Err(e) if choice == DeviceChoice::Auto => {
                eprintln!("wgpu-rnn: notice: {e}; running on the CPU");
                Ok(Backend::Cpu(model))
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
            Backend::Cpu(model) => model.forward_reference(&args.as_forward()),
            Backend::Gpu(model) => model.forward(&args.as_forward()),
        }
    }

    /// "cpu" or the adapter's name and backend.
    pub fn describe(&self) -> String {
        match self {
            Backend::Cpu(_) => "cpu (f64 reference)".into(),
            Backend::Gpu(model) => {
                let info = model.context().adapter_info();
                format!("{} ({:?})", info.name, info.backend)
            }
        }
    }
}
