//! A headless "game" that owns its wgpu device and runs a trained LSTM once per frame, without
//! ever blocking the frame on the GPU:
//!
//! 1. the app's own compute shader writes this frame's input (a sum of three sines) into the app's
//!    input history buffer;
//! 2. `GpuStream::encode_step` records one LSTM step (state kept on the GPU) into the same
//!    encoder, reading the app's buffer and copying the hidden state into the app's history;
//! 3. the app's second shader reads the stream's output buffer directly (bound once) and applies
//!    the model's linear head: a prediction of the signal `HORIZON` frames ahead;
//! 4. a ring of `GpuReadback`s brings each prediction to the CPU asynchronously: the loop only
//!    polls (`GpuContext::poll`, `GpuRead::try_take`), a few frames later the values arrive.
//!
//! Afterwards it runs one full-sequence `encode_forward` over the same inputs, compares it with
//! what the stream produced, writes a PNG plot of predictions against the true signal, and prints
//! `stream_vs_sequence_max_abs_err=<value>` as its last line.
//!
//! The model (`examples/assets/game_*.safetensors`) is trained by `scripts/train_game_model.py`.
//!
//! ```sh
//! WGPU_BACKEND=vulkan cargo run --release --example game_loop [-- plot.png]
//! ```

#[path = "../common/canvas.rs"]
mod canvas;
mod plot;

use std::sync::Arc;
use std::time::Instant;

use wgpu_rnn::wgpu;
use wgpu_rnn::{
    GpuContext, GpuForwardInput, GpuModel, GpuRead, GpuReadback, GpuStream, GpuTensor, Model,
};

/// Frames the loop runs.
const FRAMES: usize = 600;
/// Frames ahead the model predicts. Keep in sync with `scripts/train_game_model.py`.
const HORIZON: usize = 8;
/// Frames the model needs to lock on to the phases (left out of the accuracy figures).
const WARMUP: usize = 32;
/// Readbacks in flight at most.
const RING: usize = 4;

/// The app's shader: `write_input` writes frame k's sample, `predict` applies the linear head to
/// the LSTM's hidden state and advances the frame counter. The signal's (amplitude, period) pairs
/// match SIGNAL in `scripts/train_game_model.py`; the phases are this app's choice.
const APP_SHADER: &str = r#"
@group(0) @binding(0) var<storage, read_write> counter: array<u32>;
@group(0) @binding(1) var<storage, read_write> inputs: array<f32>;
@group(0) @binding(2) var<storage, read> hidden: array<f32>;
@group(0) @binding(3) var<storage, read> head: array<f32>;
@group(0) @binding(4) var<storage, read_write> predictions: array<f32>;

const TAU: f32 = 6.2831853;

@compute @workgroup_size(1)
fn write_input() {
    let t = f32(counter[0]);
    inputs[counter[0]] = 0.5 * sin(TAU * t / 97.0 + 0.4)
        + 0.3 * sin(TAU * t / 41.0 + 2.1)
        + 0.2 * sin(TAU * t / 17.0 + 5.0);
}

@compute @workgroup_size(1)
fn predict() {
    let units = arrayLength(&head) - 1u;
    var y = head[units];
    for (var j = 0u; j < units; j++) {
        y += head[j] * hidden[j];
    }
    predictions[counter[0]] = y;
    counter[0] += 1u;
}
"#;

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
    let plot_path = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("wgpu_rnn_game_loop.png"));

    // --- The app's own device (WGPU_BACKEND, WGPU_ADAPTER_NAME apply; a name no adapter has is
    // an error, not wgpu's panic). ---
    let adapter = wgpu_rnn::gpu::adapter::adapter_from_env(None)?;
    let info = adapter.get_info();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("game"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    println!("adapter: {} ({:?})", info.name, info.backend);

    // --- The model on the app's device. ---
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/assets");
    let model = Model::load(format!("{assets}/game_lstm.safetensors"))?;
    let hidden = model.config().hidden_size;
    let head = load_head(&format!("{assets}/game_head.safetensors"), hidden)?;
    let ctx = Arc::new(GpuContext::from_device(device.clone(), queue.clone()));
    let gpu_model = Arc::new(GpuModel::new(&model, ctx.clone())?);
    let mut stream = GpuStream::new(gpu_model.clone(), 1, 1)?;
    println!("model: {model}, head Linear({hidden}, 1), predicting {HORIZON} frames ahead");

    // --- The app's buffers and pipelines. ---
    let storage =
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let buffer = |label: &str, floats: usize| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (floats * 4) as u64,
            usage: storage,
            mapped_at_creation: false,
        })
    };
    let counter = buffer("counter", 1);
    let inputs = buffer("inputs", FRAMES); // (FRAMES, 1, 1)
    let hidden_history = buffer("hidden history", FRAMES * hidden); // (FRAMES, 1, H)
    let head_buf = buffer("head", hidden + 1);
    queue.write_buffer(&head_buf, 0, bytemuck::cast_slice(&head));
    let predictions = buffer("predictions", FRAMES);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("game"),
        source: wgpu::ShaderSource::Wgsl(APP_SHADER.into()),
    });
    let entries: Vec<wgpu::BindGroupLayoutEntry> = [false, false, true, true, false]
        .iter()
        .enumerate()
        .map(|(i, &read_only)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("game"),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("game"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = |entry: &str| {
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        })
    };
    let (write_input, predict) = (pipeline("write_input"), pipeline("predict"));
    // The stream's output buffer is stable: the app binds it once, next to its own buffers.
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("game"),
        layout: &layout,
        entries: &[
            counter.as_entire_binding(),
            inputs.as_entire_binding(),
            stream.output().buffer().as_entire_binding(),
            head_buf.as_entire_binding(),
            predictions.as_entire_binding(),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, resource)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource,
        })
        .collect::<Vec<_>>(),
    });

    // Views made once: frame k's input, hidden state and prediction inside the app's buffers.
    let view = |b: &wgpu::Buffer, k: usize, shape: [usize; 3]| {
        let floats: usize = shape.iter().product();
        GpuTensor::from_buffer_at(b.clone(), (k * floats * 4) as u64, shape)
    };
    let input_at = (0..FRAMES)
        .map(|k| view(&inputs, k, [1, 1, 1]))
        .collect::<Result<Vec<_>, _>>()?;
    let hidden_at = (0..FRAMES)
        .map(|k| view(&hidden_history, k, [1, 1, hidden]))
        .collect::<Result<Vec<_>, _>>()?;
    let prediction_at = (0..FRAMES)
        .map(|k| view(&predictions, k, [1, 1, 1]))
        .collect::<Result<Vec<_>, _>>()?;
    let ring: Vec<GpuReadback> = (0..RING)
        .map(|_| GpuReadback::new(&ctx, 1))
        .collect::<Result<_, _>>()?;
    stream.prepare(1)?;

    // --- The frame loop: one encoder and one submit per frame, never a blocking wait. ---
    let created = (
        ctx.buffer_count(),
        ctx.bind_group_count(),
        ctx.pipeline_count(),
    );
    let mut in_flight: Vec<(usize, GpuRead)> = Vec::new();
    let mut live = vec![f32::NAN; FRAMES];
    let (mut received, mut skipped, mut latency_frames) = (0usize, 0usize, 0usize);
    let start = Instant::now();
    for frame in 0..FRAMES {
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_bind_group(0, &bind_group, &[]);
            pass.set_pipeline(&write_input);
            pass.dispatch_workgroups(1, 1, 1);
        }
        stream.encode_step(&mut encoder, &input_at[frame], Some(&hidden_at[frame]))?;
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_bind_group(0, &bind_group, &[]);
            pass.set_pipeline(&predict);
            pass.dispatch_workgroups(1, 1, 1);
        }
        match ring.iter().find(|slot| slot.is_idle()) {
            Some(slot) => {
                in_flight.push((frame, slot.encode(&mut encoder, &prediction_at[frame])?))
            }
            None => skipped += 1,
        }
        queue.submit([encoder.finish()]);

        // The rest of the frame (rendering, game logic) would go here. Then: poll, don't wait.
        ctx.poll()?;
        let mut k = 0;
        while k < in_flight.len() {
            match in_flight[k].1.try_take() {
                None => k += 1,
                Some(result) => {
                    let (sent, _) = in_flight.swap_remove(k);
                    live[sent] = result?.data()[0];
                    received += 1;
                    latency_frames += frame - sent;
                }
            }
        }
    }
    let elapsed = start.elapsed();
    for (sent, read) in in_flight {
        live[sent] = read.wait()?.data()[0];
        received += 1;
        latency_frames += FRAMES - sent;
    }
    let after = (
        ctx.buffer_count(),
        ctx.bind_group_count(),
        ctx.pipeline_count(),
    );
    println!(
        "{FRAMES} frames in {:.1?}: {:.0} frames per second ({:.3} ms per frame)",
        elapsed,
        FRAMES as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / FRAMES as f64
    );
    println!(
        "async readbacks: {received} arrived, {:.2} frames late on average; {skipped} frames \
         skipped (all {RING} slots busy)",
        latency_frames as f64 / received.max(1) as f64
    );
    println!(
        "created during the loop: {} buffers, {} bind groups, {} pipelines",
        after.0 - created.0,
        after.1 - created.1,
        after.2 - created.2
    );

    // --- One full-sequence forward over the same inputs, recorded into the app's encoder. ---
    let all_inputs = GpuTensor::from_buffer(inputs.clone(), [FRAMES, 1, 1])?;
    let sequence = gpu_model.forward_output_for(all_inputs.shape())?;
    let mut encoder = device.create_command_encoder(&Default::default());
    gpu_model.encode_forward(&mut encoder, &GpuForwardInput::new(&all_inputs), &sequence)?;
    queue.submit([encoder.finish()]);

    let x = all_inputs.read(&ctx)?.into_data();
    let streamed =
        GpuTensor::from_buffer(hidden_history.clone(), [FRAMES, 1, hidden])?.read(&ctx)?;
    let predicted = GpuTensor::from_buffer(predictions.clone(), [FRAMES])?
        .read(&ctx)?
        .into_data();
    let whole = sequence.output.read(&ctx)?;
    let (h, c) = stream.read_state()?;
    let mut err = max_abs_diff(streamed.data(), whole.data());
    err = err.max(max_abs_diff(
        h.data(),
        sequence.h_n.as_ref().unwrap().read(&ctx)?.data(),
    ));
    if let (Some(c), Some(c_n)) = (&c, &sequence.c_n) {
        err = err.max(max_abs_diff(c.data(), c_n.read(&ctx)?.data()));
    }
    let live_mismatches = live
        .iter()
        .zip(&predicted)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    println!("async readback values that differ from the prediction history: {live_mismatches}");

    // Accuracy: prediction at frame t against the sample at t + HORIZON.
    let frames = WARMUP..FRAMES - HORIZON;
    let rmse = |f: &dyn Fn(usize) -> f32| {
        let sum: f64 = frames
            .clone()
            .map(|t| (f(t) as f64 - x[t + HORIZON] as f64).powi(2))
            .sum();
        (sum / frames.len() as f64).sqrt()
    };
    println!(
        "prediction {HORIZON} frames ahead: rmse {:.4} (repeating the current sample: {:.4})",
        rmse(&|t| predicted[t]),
        rmse(&|t| x[t])
    );
    plot::write(
        &plot_path,
        &plot::Series {
            input: &x,
            predicted: &predicted,
            horizon: HORIZON,
            warmup: WARMUP,
            title: &format!("{model} + Linear({hidden}, 1) predicting {HORIZON} frames ahead"),
        },
    )?;
    println!("plot: {}", plot_path.display());
    println!("stream_vs_sequence_max_abs_err={err:e}");
    Ok(())
}

/// The head's weights then bias, `Linear(hidden, 1)` as the training script saved it.
fn load_head(path: &str, hidden: usize) -> Result<Vec<f32>, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path)?;
    let file = safetensors::SafeTensors::deserialize(&bytes)?;
    let mut head = Vec::with_capacity(hidden + 1);
    for (name, len) in [("weight", hidden), ("bias", 1)] {
        let t = file.tensor(name)?;
        if t.dtype() != safetensors::Dtype::F32 || t.data().len() != len * 4 {
            return Err(format!("{path}: '{name}' must be {len} f32 values").into());
        }
        head.extend(
            t.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(head)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&p, &q)| (p as f64 - q as f64).abs())
        .fold(0.0, f64::max)
}
