//! `wgpu-rnn grad`: a forward and its backward from a file of output gradients, written to one
//! output file.

use std::path::Path;
use std::sync::Arc;

use wgpu_rnn::{Error, ForwardOutput, GpuTrainer, GradFile, InputFile};

use crate::device::DeviceChoice;
use crate::model_arg::ModelArg;

/// Runs `model` on `input` forward and back from the gradients in `grad` and writes `output`,
/// `h_n`, `c_n`, `grad_input`, `grad_h0`, `grad_c0` and `grad_<parameter>` to `output`; prints
/// one line on stderr saying where it ran and what it wrote.
///
/// Devices: `gpu` (the GPU backward), `reference` (the f64 CPU reference), `auto` (the GPU when
/// wgpu finds an adapter, else the reference with a notice). The fast f32 CPU path has no
/// backward: `cpu` is refused, naming the devices that have one.
pub fn run(
    model: &ModelArg,
    input: &Path,
    grad: &Path,
    output: &Path,
    device: DeviceChoice,
) -> Result<(), Error> {
    crate::refuse_overwriting_inputs(output, &[model.path(), input, grad])?;
    ForwardOutput::check_save_path(output)?;
    let gpu = crate::device::backward_device(device)?;
    let model = model.load()?;
    let args = InputFile::load(input)?;
    let grads = GradFile::load(grad)?;
    let (args, grads) = (args.as_forward(), grads.as_output_grads());
    let (where_, (out, gradients)) = match gpu {
        None => (
            "the reference (f64 CPU)".to_string(),
            model.backward_reference(&args, &grads)?,
        ),
        Some(context) => {
            let info = context.adapter_info();
            let name = format!("{} ({:?})", info.name, info.backend);
            let trainer = GpuTrainer::new(&model, Arc::new(context))?;
            (name, trainer.forward_backward(&args, &grads)?)
        }
    };
    gradients.save(&out, output)?;
    eprintln!(
        "wgpu-rnn: ran {model} forward and back on {where_}; wrote {}: output {:?} and {} gradients",
        output.display(),
        out.output.shape(),
        2 + gradients.c0.is_some() as usize + gradients.named_parameters().len(),
    );
    Ok(())
}
