//! `wgpu-rnn bench`: times whole forwards of a freshly initialised model, host input to host
//! output, after warm-up; prints median and min ms and GFLOP/s, and on the GPU the plan, the GPU
//! buffer bytes and (where the adapter has timestamp queries) the GPU time of the pass (or one
//! JSON line).

use clap::ValueEnum;
use rand::{Rng, SeedableRng};
use wgpu_rnn::bench::{Timings, forward_flops, host_peak_bytes};
use wgpu_rnn::{Error, InputFile, Model, ModuleKind, RnnConfig, Tensor};

use crate::device::{Backend, DeviceChoice};

/// The `bench` flags.
#[derive(clap::Args)]
pub struct BenchArgs {
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
    /// Where to compute (`auto`: the GPU when an adapter exists, else the CPU with a notice).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Timed runs (at least 1).
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    iters: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Print one JSON object on one line.
    #[arg(long)]
    json: bool,
    /// Time training steps (forward, MSE loss, backward, Adam step) instead of forwards; on `gpu`
    /// or `reference` (the fast CPU path has no backward).
    #[arg(long)]
    train: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum BenchModule {
    Rnn,
    Lstm,
    Gru,
}

/// `--iters`: a count of at least 1 (zero timed runs have no median).
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of timed runs, at least 1".into()),
    }
}

/// Runs the benchmark `args` describe.
pub fn run(args: &BenchArgs) -> Result<(), Error> {
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
    if args.train {
        return train(args, &model, &x, &mut rng);
    }
    let input = InputFile {
        input: x,
        h0: None,
        c0: None,
        lengths: None,
    };
    let backend = Backend::choose(args.device, &model)?;
    let (gpu, device) = match &backend {
        Backend::Gpu(gpu) => (Some(gpu), "gpu"),
        Backend::Cpu(_) => (None, "cpu"),
        Backend::Reference(_) => (None, "reference"),
    };
    // The timed runs go without timestamp queries (their resolve and copy are not part of a
    // forward); the GPU time comes from as many runs again with them on.
    let timings = Timings::measure(args.warmup, args.iters, || {
        backend.forward(&input).map(drop)
    })?;
    let (weight_bytes, shape_bytes) = gpu.map_or((0, 0), |g| g.gpu_buffer_bytes());
    let mut gpu_ms = Vec::new();
    if let Some(gpu) = gpu.filter(|g| g.context().has_timestamps()) {
        gpu.set_gpu_timing(true);
        backend.forward(&input)?;
        Timings::measure(0, args.iters, || {
            backend.forward(&input).map(drop)?;
            gpu_ms.extend(gpu.last_gpu_ms());
            Ok::<(), Error>(())
        })?;
    }
    let gpu_median = (!gpu_ms.is_empty()).then(|| Timings { runs_ms: gpu_ms }.median_ms());
    let median = timings.median_ms();
    let gflops = forward_flops(&config, args.seq_len, args.batch) / (median * 1e6);
    let peak = host_peak_bytes();
    // The host's GEMM rate beside a CPU forward's, measured after it so it does not warm it.
    let gemm_peak = matches!(backend, Backend::Cpu(_)).then(wgpu_rnn::cpu::gemm_peak_gflops);
    let plan = gpu
        .map(|g| {
            g.plan(args.seq_len, args.batch)
                .map(|p| format!("{:?}", p.kind))
        })
        .transpose()?;
    if args.json {
        let peak = peak.map_or("null".to_string(), |p| p.to_string());
        println!(
            concat!(
                "{{\"impl\":\"wgpu-rnn\",\"module\":\"{}\",\"device\":\"{}\",\"adapter\":\"{}\",",
                "\"input_size\":{},\"hidden_size\":{},\"layers\":{},\"batch\":{},\"seq_len\":{},",
                "\"bidirectional\":{},\"proj_size\":{},\"iters\":{},\"median_ms\":{:.4},",
                "\"min_ms\":{:.4},\"gflops\":{:.4},\"host_peak_bytes\":{},\"plan\":{},",
                "\"gpu_weight_bytes\":{},\"gpu_shape_bytes\":{},\"gpu_buffer_bytes\":{},",
                "\"gpu_time_ms\":{},\"threads\":{},\"gemm_peak_gflops\":{}}}"
            ),
            kind.name(),
            device,
            backend.describe().replace('"', "'"),
            args.input_size,
            args.hidden_size,
            args.layers,
            args.batch,
            args.seq_len,
            args.bidirectional,
            args.proj_size,
            timings.runs_ms.len(),
            median,
            timings.min_ms(),
            gflops,
            peak,
            plan.as_ref()
                .map_or("null".to_string(), |p| format!("\"{p}\"")),
            weight_bytes,
            shape_bytes,
            weight_bytes + shape_bytes,
            gpu_median.map_or("null".to_string(), |ms| format!("{ms:.4}")),
            wgpu_rnn::cpu::threads(),
            gemm_peak.map_or("null".to_string(), |g| format!("{g:.2}")),
        );
    } else {
        println!(
            "{config} on {}: T={} N={}",
            backend.describe(),
            args.seq_len,
            args.batch
        );
        println!(
            "median {median:.3} ms, min {:.3} ms over {} runs after {} warm-up",
            timings.min_ms(),
            timings.runs_ms.len(),
            args.warmup
        );
        println!("{gflops:.3} GFLOP/s");
        if let Some(g) = gemm_peak {
            println!(
                "host GEMM peak {g:.1} GFLOP/s (1024x1024x1024, {} threads): this forward at {:.0}%",
                wgpu_rnn::cpu::threads(),
                100.0 * gflops / g
            );
        }
        if let Some(p) = peak {
            println!("host peak memory {:.1} MiB", p as f64 / (1 << 20) as f64);
        }
        if let Some(plan) = plan {
            let mib = |b: u64| b as f64 / (1 << 20) as f64;
            println!("plan {plan}");
            println!(
                "GPU buffers {:.2} MiB: weights {:.2} MiB, this call shape {:.2} MiB",
                mib(weight_bytes + shape_bytes),
                mib(weight_bytes),
                mib(shape_bytes)
            );
            match gpu_median {
                Some(ms) => println!("GPU time (timestamp queries) median {ms:.3} ms"),
                None => println!("GPU time: the adapter has no timestamp queries"),
            }
        }
    }
    Ok(())
}

/// `bench --train`: the same flags and output as a forward benchmark, for training steps.
fn train(
    args: &BenchArgs,
    model: &Model,
    x: &Tensor,
    rng: &mut rand::rngs::StdRng,
) -> Result<(), Error> {
    let config = model.config();
    let width = config.num_directions() * config.output_hidden();
    let shape = [args.seq_len, args.batch, width];
    let numel = shape.iter().product();
    let target = Tensor::new(
        shape,
        (0..numel).map(|_| rng.random_range(-1.0..1.0)).collect(),
    )?;
    let b = crate::bench_train::measure(args.device, model, x, &target, args.warmup, args.iters)?;
    let median = b.timings.median_ms();
    if args.json {
        let opt = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
        println!(
            concat!(
                "{{\"impl\":\"wgpu-rnn\",\"mode\":\"train\",\"module\":\"{}\",",
                "\"device\":\"{}\",\"adapter\":\"{}\",\"input_size\":{},",
                "\"hidden_size\":{},\"layers\":{},\"batch\":{},\"seq_len\":{},",
                "\"bidirectional\":{},\"proj_size\":{},\"iters\":{},\"median_ms\":{:.4},",
                "\"min_ms\":{:.4},\"gflops\":{:.4},\"host_peak_bytes\":{},",
                "\"gpu_buffer_bytes\":{}}}"
            ),
            config.kind.name(),
            b.device,
            b.describe.replace('"', "'"),
            args.input_size,
            args.hidden_size,
            args.layers,
            args.batch,
            args.seq_len,
            args.bidirectional,
            args.proj_size,
            b.timings.runs_ms.len(),
            median,
            b.timings.min_ms(),
            b.gflops,
            opt(b.host_peak),
            opt(b.gpu_bytes),
        );
    } else {
        println!(
            "training {config} on {}: T={} N={} (forward, MSE, backward, Adam step)",
            b.describe, args.seq_len, args.batch
        );
        println!(
            "median {median:.3} ms, min {:.3} ms over {} steps after {} warm-up",
            b.timings.min_ms(),
            b.timings.runs_ms.len(),
            args.warmup
        );
        println!("{:.3} GFLOP/s (a step counted as three forwards)", b.gflops);
        if let Some(bytes) = b.gpu_bytes {
            println!("GPU buffers {:.2} MiB", bytes as f64 / (1 << 20) as f64);
        }
    }
    Ok(())
}
