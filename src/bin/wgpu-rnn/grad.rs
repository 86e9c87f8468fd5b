//! `wgpu-rnn grad`: a forward and its backward from a file of output gradients, written to one
//! output file.

use std::path::Path;

use wgpu_rnn::{Error, ForwardOutput, GradFile, InputFile};

use crate::device::DeviceChoice;
use crate::model_arg::ModelArg;

/// Runs `model` on `input` forward and back from the gradients in `grad` and writes `output`,
/// `h_n`, `c_n`, `grad_input`, `grad_h0`, `grad_c0` and `grad_<parameter>` to `output`; prints
/// one line on stderr saying where it ran and how many tensors it wrote.
pub fn run(
    model: &ModelArg,
    input: &Path,
    grad: &Path,
    output: &Path,
    device: DeviceChoice,
) -> Result<(), Error> {
    crate::refuse_overwriting_inputs(output, &[model.path(), input, grad])?;
    ForwardOutput::check_save_path(output)?;
    let model = model.load()?;
    let args = InputFile::load(input)?;
    let grads = GradFile::load(grad)?;
    let reference = || model.backward_reference(&args.as_forward(), &grads.as_output_grads());
    let (out, gradients) = match device {
        DeviceChoice::Reference => reference()?,
        DeviceChoice::Cpu | DeviceChoice::Gpu => {
            return Err(Error::DeviceUnavailable(format!(
                "the {} backward is not available yet; use --device reference (the f64 CPU reference)",
                if device == DeviceChoice::Cpu {
                    "fast CPU"
                } else {
                    "GPU"
                }
            )));
        }
        DeviceChoice::Auto => {
            eprintln!(
                "wgpu-rnn: notice: the GPU backward is not available yet; computing on the CPU reference"
            );
            reference()?
        }
    };
    gradients.save(&out, output)?;
    eprintln!(
        "wgpu-rnn: ran {model} forward and back on the reference (f64 CPU); wrote {}: output {:?} and {} gradients",
        output.display(),
        out.output.shape(),
        2 + gradients.c0.is_some() as usize + gradients.named_parameters().len(),
    );
    Ok(())
}
