//! The `wgpu-rnn` command line: run a PyTorch recurrent model file on an input file, check the GPU
//! against the CPU reference, list adapters, benchmark.

mod bench;
mod bench_train;
mod device;
mod grad;
mod info;
mod model_arg;
mod onnx;
mod show;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wgpu_rnn::{Error, ForwardOutput, InputFile};

use device::{Backend, DeviceChoice};
use model_arg::ModelArg;

#[derive(Parser)]
#[command(
    name = "wgpu-rnn",
    version,
    about = "PyTorch's RNN, LSTM and GRU on any GPU through wgpu"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a model on an input file and writes output, h_n (and c_n) to an output file.
    Run {
        #[command(flatten)]
        model: ModelArg,
        /// Input file: safetensors with `input` and optionally `h0`, `c0`, `lengths`.
        #[arg(long)]
        input: PathBuf,
        /// Output file to write: `output`, `h_n` and, for LSTM, `c_n` (f32).
        #[arg(long)]
        output: PathBuf,
        /// Where to compute: `cpu` (fast f32), `reference` (f64), `gpu`, or `auto` (the GPU when an
        /// adapter exists, else the fast CPU path).
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
    },
    /// Runs a model forward and back: writes the outputs and the gradients of the input, the
    /// initial state and every parameter for the output gradients in a gradient file.
    Grad {
        #[command(flatten)]
        model: ModelArg,
        /// Input file: safetensors with `input` and optionally `h0`, `c0`, `lengths`.
        #[arg(long)]
        input: PathBuf,
        /// Gradient file: safetensors with `grad_output` and optionally `grad_h_n`, `grad_c_n`.
        #[arg(long)]
        grad: PathBuf,
        /// Output file to write: `output`, `h_n`, `c_n`, `grad_input`, `grad_h0`, `grad_c0` and
        /// `grad_<name>` for every parameter (f32).
        #[arg(long)]
        output: PathBuf,
        /// Where to compute.
        #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
        device: DeviceChoice,
    },
    /// Runs a model on the f64 reference and on a device and prints how far apart they are.
    Check {
        #[command(flatten)]
        model: ModelArg,
        /// Input file.
        #[arg(long)]
        input: PathBuf,
        /// Largest accepted |device - reference| / max(1, |reference|): a non-negative number.
        #[arg(long, default_value_t = 1e-5, allow_negative_numbers = true, value_parser = parse_tolerance)]
        tolerance: f64,
        /// The device checked against the reference.
        #[arg(long, value_enum, default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
    },
    /// Prints what a file holds: a model file's module, metadata (or the defaults assumed) and
    /// tensors; an input, output or gradient file's tensors; each with dtype, shape and statistics.
    Show {
        /// The file.
        file: PathBuf,
        /// Read a model file's tensors under this key prefix, e.g. `rnn.`.
        #[arg(long, default_value = "", hide_default_value = true)]
        prefix: String,
    },
    /// Lists the GPU adapters wgpu sees.
    Info,
    /// Times whole forwards (host input to host output) of a freshly initialised model.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wgpu-rnn: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Run {
            model,
            input,
            output,
            device,
        } => {
            refuse_overwriting_inputs(&output, &[model.path(), &input])?;
            ForwardOutput::check_save_path(&output)?;
            if onnx::is_onnx(model.path()) {
                model.refuse_prefix_for_onnx()?;
                return onnx::run(model.path(), &input, &output, device);
            }
            let model = model.load()?;
            let args = InputFile::load(&input)?;
            let backend = Backend::choose(device, &model)?;
            let result = backend.forward(&args)?;
            result.save(&output)?;
            let written: Vec<String> = tensors(&result)
                .iter()
                .map(|(name, t)| format!("{name} {:?}", t.shape()))
                .collect();
            eprintln!(
                "wgpu-rnn: ran {model} on {}; wrote {}: {}",
                backend.describe(),
                output.display(),
                written.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Grad {
            model,
            input,
            grad,
            output,
            device,
        } => grad::run(&model, &input, &grad, &output, device).map(|()| ExitCode::SUCCESS),
        Command::Check {
            model,
            input,
            tolerance,
            device,
        } => check(&model, &input, tolerance, device),
        Command::Show { file, prefix } => show::run(&file, &prefix).map(|()| ExitCode::SUCCESS),
        Command::Info => info::print_adapters().map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(&args).map(|()| ExitCode::SUCCESS),
    }
}

/// `--tolerance`: a number, neither NaN nor negative (a NaN tolerance would accept nothing
/// while looking like a setting).
fn parse_tolerance(value: &str) -> Result<f64, String> {
    let t: f64 = value
        .trim()
        .parse()
        .map_err(|_| "expected a non-negative number such as 1e-5".to_string())?;
    if t.is_nan() {
        return Err(
            "NaN compares false with every difference; give a non-negative number such as 1e-5"
                .into(),
        );
    }
    if t < 0.0 {
        return Err(
            "a tolerance is a largest accepted difference: give a non-negative number such as 1e-5"
                .into(),
        );
    }
    Ok(t)
}

/// Runs the reference and `device` and prints, per tensor, the largest absolute and relative
/// difference.
fn check(
    model: &ModelArg,
    input: &Path,
    tolerance: f64,
    device: DeviceChoice,
) -> Result<ExitCode, Error> {
    let (worst, device) = if onnx::is_onnx(model.path()) {
        model.refuse_prefix_for_onnx()?;
        onnx::check(model.path(), input, device)?
    } else {
        check_module(model, input, device)?
    };
    if worst <= tolerance {
        println!("agree within {tolerance:e}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "wgpu-rnn: error: {device} and the reference differ by {worst:.3e} > tolerance {tolerance:e}"
        );
        Ok(ExitCode::FAILURE)
    }
}

/// `check` on a model file: prints each result's differences; returns the worst and the device.
fn check_module(
    model: &ModelArg,
    input: &Path,
    device: DeviceChoice,
) -> Result<(f64, String), Error> {
    let model = model.load()?;
    let args = InputFile::load(input)?;
    let backend = Backend::choose(device, &model)?;
    let want = model.forward_reference(&args.as_forward())?;
    let got = backend.forward(&args)?;
    println!(
        "{model} on {} against the CPU reference (f64)",
        backend.describe()
    );
    let mut worst = 0f64;
    for (name, g, w) in tensors(&got)
        .into_iter()
        .zip(tensors(&want))
        .map(|((n, g), (_, w))| (n, g, w))
    {
        let (abs, rel) = differences(g.data(), w.data());
        worst = worst.max(rel);
        println!(
            "{name:>6} {:?}: max abs diff {abs:.3e}, max rel diff {rel:.3e}",
            g.shape()
        );
    }
    Ok((worst, backend.describe()))
}

fn tensors(out: &ForwardOutput) -> Vec<(&'static str, &wgpu_rnn::Tensor)> {
    let mut v = vec![("output", &out.output), ("h_n", &out.h_n)];
    v.extend(out.c_n.as_ref().map(|c| ("c_n", c)));
    v
}

/// Largest |g - w| and |g - w| / max(1, |w|); a NaN on one side only counts as infinite.
fn differences(got: &[f32], want: &[f32]) -> (f64, f64) {
    got.iter()
        .zip(want)
        .fold((0f64, 0f64), |(abs, rel), (&g, &w)| {
            let (g, w) = (g as f64, w as f64);
            let d = match (g.is_nan(), w.is_nan()) {
                (true, true) => 0.0,
                (false, false) => (g - w).abs(),
                _ => f64::INFINITY,
            };
            (abs.max(d), rel.max(d / w.abs().max(1.0)))
        })
}

/// Refuses an output path that names one of the command's input files.
pub(crate) fn refuse_overwriting_inputs(output: &Path, inputs: &[&Path]) -> Result<(), Error> {
    let Ok(out) = output.canonicalize() else {
        return Ok(()); // does not exist yet, so it is none of the inputs
    };
    if inputs
        .iter()
        .any(|i| i.canonicalize().is_ok_and(|i| i == out))
    {
        return Err(Error::OutputIsInput {
            path: output.to_path_buf(),
        });
    }
    Ok(())
}
