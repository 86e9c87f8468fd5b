//! The `wgpu-rnn` command line: run a PyTorch recurrent model file on an input file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use wgpu_rnn::{Error, InputFile, Model};

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
        /// Model file: safetensors of the module's state_dict (metadata optional).
        #[arg(long)]
        model: PathBuf,
        /// Input file: safetensors with `input` and optionally `h0`, `c0`, `lengths`.
        #[arg(long)]
        input: PathBuf,
        /// Output file to write: `output`, `h_n` and, for LSTM, `c_n` (f32).
        #[arg(long)]
        output: PathBuf,
        /// Where to compute.
        #[arg(long, value_enum, default_value_t = Device::Auto)]
        device: Device,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Device {
    /// The f64 CPU reference.
    Cpu,
    /// The wgpu GPU path.
    Gpu,
    /// The GPU when an adapter exists, else the CPU.
    Auto,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wgpu-rnn: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Run {
            model,
            input,
            output,
            device,
        } => {
            refuse_overwriting_inputs(&output, &[&model, &input])?;
            let model = Model::load(&model)?;
            let args = InputFile::load(&input)?;
            let result = match device {
                Device::Cpu | Device::Auto => model.forward_cpu(&args.as_forward())?,
                Device::Gpu => {
                    return Err(Error::DeviceUnavailable(
                        "the GPU backend is not built yet; use --device cpu".into(),
                    ));
                }
            };
            result.save(&output)
        }
    }
}

/// Refuses an output path that names one of the command's input files.
fn refuse_overwriting_inputs(output: &Path, inputs: &[&Path]) -> Result<(), Error> {
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
