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
    /// Times whole forwards (host input to host output) of a freshly initialised model.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Module family.
    #[arg(long, value_enum)]
    module: BenchModule,
    /// Features per input step.
    #[arg(long)]
    input_size: usize,
    /// Hidden size.
    #[arg(long)]
    hidden_size: usize,
    /// Stacked layers.
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Batch rows.
    #[arg(long)]
    batch: usize,
    /// Time steps.
    #[arg(long)]
    seq_len: usize,
    /// Two directions per layer.
    #[arg(long)]
    bidirectional: bool,
    /// LSTM projection size (0 = none).
    #[arg(long, default_value_t = 0)]
    proj_size: usize,
    /// Where to compute.
    #[arg(long, value_enum)]
    device: BenchDevice,
    /// Timed runs.
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Print one JSON object on one line.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum BenchModule {
    Rnn,
    Lstm,
    Gru,
}

#[derive(Clone, Copy, ValueEnum)]
enum BenchDevice {
    Cpu,
    Gpu,
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
        Command::Bench(args) => bench(&args),
    }
}

fn bench(args: &BenchArgs) -> Result<(), Error> {
    use rand::{Rng, SeedableRng};
    use wgpu_rnn::bench::{Timings, forward_flops, host_peak_bytes};
    use wgpu_rnn::{ForwardInput, ModuleKind, RnnConfig, Tensor};

    let kind = match args.module {
        BenchModule::Rnn => ModuleKind::Rnn,
        BenchModule::Lstm => ModuleKind::Lstm,
        BenchModule::Gru => ModuleKind::Gru,
    };
    let config = RnnConfig::new(kind, args.input_size, args.hidden_size)
        .with_num_layers(args.layers)
        .with_bidirectional(args.bidirectional)
        .with_proj_size(args.proj_size);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = Model::new(config.clone(), &mut rng)?;
    let shape = [args.seq_len, args.batch, args.input_size];
    let numel = shape.iter().product();
    let x = Tensor::new(
        shape,
        (0..numel).map(|_| rng.random_range(-1.0..1.0)).collect(),
    )?;
    let input = ForwardInput::new(&x);
    let timings = match args.device {
        BenchDevice::Cpu => Timings::measure(args.warmup, args.iters.max(1), || {
            model.forward_cpu(&input).map(drop)
        })?,
        BenchDevice::Gpu => {
            return Err(Error::DeviceUnavailable(
                "the GPU backend is not built yet; use --device cpu".into(),
            ));
        }
    };
    let median = timings.median_ms();
    let gflops = forward_flops(&config, args.seq_len, args.batch) / (median * 1e6);
    let peak = host_peak_bytes();
    let device = match args.device {
        BenchDevice::Cpu => "cpu",
        BenchDevice::Gpu => "gpu",
    };
    if args.json {
        let peak = peak.map_or("null".to_string(), |p| p.to_string());
        println!(
            "{{\"impl\":\"wgpu-rnn\",\"module\":\"{}\",\"device\":\"{device}\",\"input_size\":{},\"hidden_size\":{},\"layers\":{},\"batch\":{},\"seq_len\":{},\"bidirectional\":{},\"proj_size\":{},\"iters\":{},\"median_ms\":{median:.4},\"min_ms\":{:.4},\"gflops\":{gflops:.4},\"host_peak_bytes\":{peak}}}",
            kind.name(),
            args.input_size,
            args.hidden_size,
            args.layers,
            args.batch,
            args.seq_len,
            args.bidirectional,
            args.proj_size,
            timings.runs_ms.len(),
            timings.min_ms(),
        );
    } else {
        println!("{config} on {device}: T={} N={}", args.seq_len, args.batch);
        println!(
            "median {median:.3} ms, min {:.3} ms over {} runs after {} warm-up",
            timings.min_ms(),
            timings.runs_ms.len(),
            args.warmup
        );
        println!("{gflops:.3} GFLOP/s");
        if let Some(p) = peak {
            println!("host peak memory {:.1} MiB", p as f64 / (1 << 20) as f64);
        }
    }
    Ok(())
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
