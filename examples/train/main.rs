//! Trains the game loop's model from scratch on the GPU, in Rust: an `LSTM(1, 16)` whose hidden
//! state feeds a `Linear(16, 1)` head, predicting a sum of three sines `HORIZON` frames ahead, as
//! `scripts/train_game_model.py` does in PyTorch: the same data (each sequence's phases from the
//! same splitmix64 hash), the same loss, Adam with the same learning rate and cosine schedule, the
//! same steps, and by default the same random initial weights (the script's
//! `examples/assets/pytorch/game_init_*`; `--seed N` draws fresh ones in Rust instead).
//!
//! Each step is recorded into one command encoder and submitted once: the library's training
//! forward (`GpuTrainer::encode_forward`), this app's own shader for the head and the MSE loss
//! (its gradients go straight into the trainer's gradient buffer, where the head is registered as
//! an extra parameter), the library's backward from the head's ∂L/∂h (`encode_backward`) and the
//! Adam step over the LSTM and the head together (`encode_optimizer_step`). The loss of every step
//! stays on the GPU until each epoch's end.
//!
//! Afterwards it evaluates the trained model and PyTorch's (`examples/assets/pytorch/`) on the
//! same held-out batch, writes the model for `examples/game_loop` (`examples/assets/game_*`, or
//! `--out DIR`), and draws the loss curve and predictions into a PNG.
//!
//! ```sh
//! WGPU_BACKEND=vulkan cargo run --release --example train [-- --steps 3000 --out DIR --plot train.png --seed N]
//! ```

#[path = "../common/canvas.rs"]
mod canvas;
mod plot;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgpu_rnn::wgpu;
use wgpu_rnn::{
    Adam, ForwardInput, GpuContext, GpuForwardInput, GpuForwardOutput, GpuInputGrads,
    GpuOutputGrads, GpuTensor, GpuTrainer, Model, RnnConfig, Tensor,
};

/// (amplitude, period in frames) of each sine. Keep in sync with `scripts/train_game_model.py`
/// and `examples/game_loop`.
const SIGNAL: [(f32, f32); 3] = [(0.5, 97.0), (0.3, 41.0), (0.2, 17.0)];
/// Frames ahead the model predicts.
const HORIZON: usize = 8;
const HIDDEN: usize = 16;
const SEQ_LEN: usize = 256;
const BATCH: usize = 64;
/// Frames the loss ignores: the model first has to find the phases.
const WARMUP: usize = 32;
/// Adam's learning rate, annealed to 0 over the steps on a cosine.
const LR: f64 = 1e-2;
/// Steps per printed epoch.
const EPOCH: usize = 100;

/// The app's head and loss: y = W·h + b on every (t, n), mean squared error against the target
/// over t ≥ WARMUP, ∂L/∂h = ∂L/∂y·W into `grad_h` for the library's backward, and ∂L/∂W, ∂L/∂b
/// into the trainer's gradient buffer at the head's offsets. One workgroup.
const HEAD_SHADER: &str = r#"
override T: u32 = 256u;
override N: u32 = 64u;
override WARMUP: u32 = 32u;
override W_AT: u32 = 0u;
override B_AT: u32 = 0u;
const H: u32 = 16u;
const WG: u32 = 128u;

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read> wanted: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_h: array<f32>;
@group(0) @binding(4) var<storage, read_write> grads: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;

// Per invocation: ∂L/∂W (H), ∂L/∂b, the sum of squared errors.
var<workgroup> part: array<array<f32, 18>, WG>;

@compute @workgroup_size(WG)
fn head_loss(@builtin(local_invocation_index) lid: u32) {
    var acc: array<f32, 18>;
    let count = f32((T - WARMUP) * N);
    for (var r = lid; r < T * N; r += WG) {
        var y = params[B_AT];
        for (var k = 0u; k < H; k++) {
            y += params[W_AT + k] * hidden[r * H + k];
        }
        var dy = 0.0;
        if r / N >= WARMUP {
            let diff = y - wanted[r];
            acc[17] += diff * diff;
            dy = 2.0 * diff / count;
        }
        for (var k = 0u; k < H; k++) {
            grad_h[r * H + k] = dy * params[W_AT + k];
            acc[k] += dy * hidden[r * H + k];
        }
        acc[16] += dy;
    }
    part[lid] = acc;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if lid < half {
            for (var q = 0u; q < 18u; q++) {
                part[lid][q] += part[lid + half][q];
            }
        }
        workgroupBarrier();
    }
    if lid == 0u {
        for (var k = 0u; k < H; k++) {
            grads[W_AT + k] = part[0][k];
        }
        grads[B_AT] = part[0][16];
        loss[0] = part[0][17] / count;
    }
}
"#;

struct Args {
    steps: usize,
    out: PathBuf,
    plot: PathBuf,
    /// Draw the initial weights in Rust from this seed instead of starting from PyTorch's.
    seed: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let assets = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/assets"));
    let mut args = Args {
        steps: 3000,
        out: assets,
        plot: std::env::temp_dir().join("wgpu_rnn_train.png"),
        seed: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--steps" => args.steps = value.parse().map_err(|e| format!("--steps: {e}"))?,
            "--out" => args.out = value.into(),
            "--plot" => args.plot = value.into(),
            "--seed" => args.seed = Some(value.parse().map_err(|e| format!("--seed: {e}"))?),
            other => {
                return Err(format!(
                    "unknown flag {other} (--steps, --out, --plot, --seed)"
                ));
            }
        }
    }
    if args.steps == 0 {
        return Err("--steps must be at least 1".into());
    }
    Ok(args)
}

/// The signal at frame `t` of a sequence with `phases`.
fn signal(t: f32, phases: &[f32; 3]) -> f32 {
    SIGNAL
        .iter()
        .zip(phases)
        .map(|(&(amp, period), &phase)| amp * (std::f32::consts::TAU * t / period + phase).sin())
        .sum()
}

/// The step of the held-out batch.
const HELD_OUT: u64 = 1_000_000;

/// A uniform draw in [0, 1) from (step, row, sine): splitmix64 of a key, the top 53 bits. Keep in
/// sync with `unit` in `scripts/train_game_model.py`, so both train on the same data.
fn unit(step: u64, row: u64, sine: u64) -> f64 {
    let mut z = ((step * 1_000_003 + row) * 7 + sine).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Batch `step`: inputs x (T, N, 1) and targets y (T, N, 1), y[t] = x[t + HORIZON].
fn batch(step: u64) -> (Vec<f32>, Vec<f32>) {
    let phases: Vec<[f32; 3]> = (0..BATCH as u64)
        .map(|n| std::array::from_fn(|k| (unit(step, n, k as u64) * std::f64::consts::TAU) as f32))
        .collect();
    let mut x = vec![0.0; SEQ_LEN * BATCH];
    let mut y = vec![0.0; SEQ_LEN * BATCH];
    for t in 0..SEQ_LEN {
        for (n, p) in phases.iter().enumerate() {
            x[t * BATCH + n] = signal(t as f32, p);
            y[t * BATCH + n] = signal((t + HORIZON) as f32, p);
        }
    }
    (x, y)
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let ctx = Arc::new(GpuContext::new()?);
    let info = ctx.adapter_info();
    println!("adapter: {} ({:?})", info.name, info.backend);

    // PyTorch's initial weights, or fresh ones drawn like PyTorch's: every parameter
    // ~ U(-1/sqrt(16), 1/sqrt(16)), the head's too.
    let pytorch = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/assets/pytorch");
    let (model, head) = match args.seed {
        None => {
            println!("initial weights: PyTorch's ({pytorch}/game_init_*)");
            let model = Model::load(format!("{pytorch}/game_init_lstm.safetensors"))?;
            (
                model,
                load_head(&format!("{pytorch}/game_init_head.safetensors"))?,
            )
        }
        Some(seed) => {
            println!("initial weights: drawn from seed {seed}");
            let mut rng = StdRng::seed_from_u64(seed);
            let model = Model::new(RnnConfig::lstm(1, HIDDEN), &mut rng)?;
            let bound = 1.0 / (HIDDEN as f32).sqrt();
            let head = (0..=HIDDEN)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            (model, head)
        }
    };
    let head_w = Tensor::new([1, HIDDEN], head[..HIDDEN].to_vec())?;
    let head_b = Tensor::new([1], head[HIDDEN..].to_vec())?;
    let trainer = GpuTrainer::with_extra_parameters(
        &model,
        ctx.clone(),
        &[("head.weight", &head_w), ("head.bias", &head_b)],
    )?;
    trainer.set_optimizer(Adam::new(LR), None)?;
    let w_at = trainer
        .extra_offset("head.weight")
        .expect("registered above");
    let b_at = trainer.extra_offset("head.bias").expect("registered above");
    println!(
        "training {model} + Linear({HIDDEN}, 1) from scratch: {} steps of batch {BATCH} × {SEQ_LEN} frames, Adam lr {LR} on a cosine",
        args.steps
    );

    // The app's tensors and its head pipeline, bound once.
    let zeros = |label: &str, shape: &[usize]| GpuTensor::zeros(&ctx, label, shape.to_vec());
    let x = zeros("x", &[SEQ_LEN, BATCH, 1])?;
    let y = zeros("y", &[SEQ_LEN, BATCH, 1])?;
    let grad_h = zeros("grad_h", &[SEQ_LEN, BATCH, HIDDEN])?;
    let loss = zeros("loss", &[1])?;
    let history = zeros("loss history", &[args.steps])?;
    let out = GpuForwardOutput {
        output: zeros("hidden", &[SEQ_LEN, BATCH, HIDDEN])?,
        h_n: None,
        c_n: None,
    };
    let device = ctx.device();
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("head_loss"),
        source: wgpu::ShaderSource::Wgsl(HEAD_SHADER.into()),
    });
    let constants = [
        ("T", SEQ_LEN as f64),
        ("N", BATCH as f64),
        ("WARMUP", WARMUP as f64),
        ("W_AT", w_at as f64),
        ("B_AT", b_at as f64),
    ];
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("head_loss"),
        layout: None,
        module: &module,
        entry_point: Some("head_loss"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &constants,
            ..Default::default()
        },
        cache: None,
    });
    let bind = [
        trainer.params_buffer().as_entire_binding(),
        out.output.binding(),
        y.binding(),
        grad_h.binding(),
        trainer.grads_buffer().as_entire_binding(),
        loss.binding(),
    ];
    let entries: Vec<wgpu::BindGroupEntry> = bind
        .into_iter()
        .enumerate()
        .map(|(i, resource)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource,
        })
        .collect();
    let head_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("head_loss"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });

    let queue = ctx.queue();
    let mut epochs = Vec::new();
    let start = Instant::now();
    for step in 0..args.steps {
        let (xs, ys) = batch(step as u64);
        queue.write_buffer(x.buffer(), 0, bytemuck::cast_slice(&xs));
        queue.write_buffer(y.buffer(), 0, bytemuck::cast_slice(&ys));
        // torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps): lr at step k.
        let lr = LR * (1.0 + (std::f64::consts::PI * step as f64 / args.steps as f64).cos()) / 2.0;
        trainer.set_lr(lr)?;
        let mut encoder = device.create_command_encoder(&Default::default());
        trainer.encode_forward(&mut encoder, &GpuForwardInput::new(&x), &out)?;
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &head_group, &[]);
            pass.dispatch_workgroups(1, 1, 1);
        }
        let grads = GpuOutputGrads {
            grad_output: Some(&grad_h),
            ..GpuOutputGrads::default()
        };
        trainer.encode_backward(&mut encoder, &grads, &GpuInputGrads::default(), false)?;
        trainer.encode_optimizer_step(&mut encoder)?;
        encoder.copy_buffer_to_buffer(loss.buffer(), 0, history.buffer(), 4 * step as u64, 4);
        queue.submit([encoder.finish()]);
        if (step + 1) % EPOCH == 0 || step + 1 == args.steps {
            let losses = history.read(&ctx)?.into_data();
            let first = epochs.len() * EPOCH;
            let epoch = &losses[first..=step];
            let mean = epoch.iter().map(|&l| l as f64).sum::<f64>() / epoch.len() as f64;
            epochs.push(mean);
            println!(
                "epoch {:3} (steps {first:4}..{:4})  mse {mean:.5}  lr {lr:.2e}  {:.1} s",
                epochs.len(),
                step + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    let per_step = history.read(&ctx)?.into_data();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "trained in {seconds:.1} s ({:.1} ms per step)",
        1e3 * seconds / args.steps as f64
    );

    // Held-out evaluation of ours and PyTorch's on the same batch, on the f64 reference.
    let trained = trainer.model()?;
    let params: HashMap<String, Tensor> = trainer.read_parameters()?.into_iter().collect();
    let head = |name: &str| params[name].data().to_vec();
    let ours = (trained, [head("head.weight"), head("head.bias")].concat());
    let (xs, ys) = batch(HELD_OUT);
    let evaluate = |(model, head): &(Model, Vec<f32>)| -> Result<(f64, Vec<f32>), wgpu_rnn::Error> {
        let input = Tensor::new([SEQ_LEN, BATCH, 1], xs.clone())?;
        let h = model.forward_reference(&ForwardInput::new(&input))?.output;
        let predictions: Vec<f32> = h
            .data()
            .chunks_exact(HIDDEN)
            .map(|row| head[HIDDEN] + row.iter().zip(head).map(|(a, b)| a * b).sum::<f32>())
            .collect();
        let scored = WARMUP * BATCH..SEQ_LEN * BATCH;
        let mse = scored
            .clone()
            .map(|r| (predictions[r] as f64 - ys[r] as f64).powi(2))
            .sum::<f64>()
            / scored.len() as f64;
        Ok((mse, predictions))
    };
    let (mse, predictions) = evaluate(&ours)?;
    let persistence = (WARMUP * BATCH..SEQ_LEN * BATCH)
        .map(|r| (xs[r] as f64 - ys[r] as f64).powi(2))
        .sum::<f64>()
        / ((SEQ_LEN - WARMUP) * BATCH) as f64;
    println!("held-out mse {mse:.5} (repeating the last sample: {persistence:.5})");
    let theirs = Model::load(format!("{pytorch}/game_lstm.safetensors"))
        .and_then(|m| Ok((m, load_head(&format!("{pytorch}/game_head.safetensors"))?)));
    match theirs.and_then(|p| evaluate(&p)) {
        Ok((theirs, _)) => println!(
            "PyTorch's model (scripts/train_game_model.py) on the same batch: mse {theirs:.5}; ours / theirs = {:.3}",
            mse / theirs
        ),
        Err(e) => println!("no PyTorch model to compare with ({e})"),
    }

    // The model game_loop runs, and the picture.
    std::fs::create_dir_all(&args.out)?;
    ours.0.save(args.out.join("game_lstm.safetensors"))?;
    save_head(&args.out.join("game_head.safetensors"), &ours.1)?;
    println!(
        "wrote {}/game_lstm.safetensors and game_head.safetensors",
        args.out.display()
    );
    let row = 0;
    let series = |v: &[f32]| {
        (0..SEQ_LEN)
            .map(|t| v[t * BATCH + row])
            .collect::<Vec<f32>>()
    };
    plot::write(
        &args.plot,
        &plot::Training {
            per_step: &per_step,
            epoch: EPOCH,
            input: &series(&xs),
            predicted: &series(&predictions),
            horizon: HORIZON,
            warmup: WARMUP,
            title: &format!(
                "{} + Linear({HIDDEN}, 1) trained on the GPU ({})",
                ours.0, info.name
            ),
        },
    )?;
    println!("plot: {}", args.plot.display());
    Ok(())
}

/// A `Linear(16, 1)` head as the training script saves it: `weight` (1, 16), `bias` (1); returns
/// the weights then the bias.
fn load_head(path: &str) -> Result<Vec<f32>, wgpu_rnn::Error> {
    let bytes = std::fs::read(path).map_err(|source| wgpu_rnn::Error::Io {
        path: path.into(),
        source,
    })?;
    let bad = |reason: String| wgpu_rnn::Error::BadFile {
        path: path.into(),
        reason,
    };
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut head = Vec::new();
    for (name, len) in [("weight", HIDDEN), ("bias", 1)] {
        let t = file.tensor(name).map_err(|e| bad(e.to_string()))?;
        if t.dtype() != safetensors::Dtype::F32 || t.data().len() != 4 * len {
            return Err(bad(format!("'{name}' must be {len} f32 values")));
        }
        head.extend(
            t.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(head)
}

/// Writes the head as `scripts/train_game_model.py` does (PyTorch's `nn.Linear` names).
fn save_head(path: &std::path::Path, head: &[f32]) -> Result<(), Box<dyn std::error::Error>> {
    let (w, b) = head.split_at(HIDDEN);
    let views = [
        (
            "weight",
            vec![1, HIDDEN],
            bytemuck::cast_slice::<f32, u8>(w),
        ),
        ("bias", vec![1], bytemuck::cast_slice::<f32, u8>(b)),
    ];
    let tensors: Vec<(&str, safetensors::tensor::TensorView<'_>)> = views
        .iter()
        .map(|(n, s, d)| {
            Ok((
                *n,
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)?,
            ))
        })
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    let metadata = HashMap::from([
        ("horizon".to_string(), HORIZON.to_string()),
        ("signal".to_string(), format!("{SIGNAL:?}")),
    ]);
    std::fs::write(path, safetensors::serialize(tensors, Some(metadata))?)?;
    Ok(())
}
