//! Streaming and embedding on every backend under test (see `tests/common/gpu.rs`):
//! - a [`GpuStream`] stepped in random chunks equals one forward over the same inputs, bit for
//!   bit, and the CPU reference within 1e-5, with rows reset along the way (all six kinds;
//!   bidirectional models are excluded because they cannot stream: their reverse direction needs
//!   inputs that have not arrived yet, and `GpuStream::new` refuses them — tested below);
//! - `encode_forward` into an application's encoder, application buffers in and out;
//! - several models on one application-owned device, in one encoder;
//! - no buffers, bind groups or pipelines created by a step after warm-up;
//! - in-place steps over the stream's own input buffer, (N, I) one-step inputs, refused misuse;
//! - asynchronous readback (future, `try_take`, `wait`, busy slot, unsubmitted encoder);
//! - `Send + Sync` of every public GPU type (compile time).
//!
//! `WGPU_RNN_SEED=<seed>` replays a run; `WGPU_RNN_STREAM_CASES=<n>` changes the case count.

#[path = "common/gpu.rs"]
mod gpu;

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgpu_rnn::{
    Error, Family, ForwardInput, GpuContext, GpuForwardInput, GpuForwardOutput, GpuModel, GpuRead,
    GpuReadback, GpuStream, GpuTensor, Model, ModuleKind, Nonlinearity, RnnConfig, Tensor,
};

const TOLERANCE: f64 = 1e-5;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn gpu_types_are_send_and_sync() {
    assert_send_sync::<GpuContext>();
    assert_send_sync::<GpuModel>();
    assert_send_sync::<GpuStream>();
    assert_send_sync::<GpuTensor>();
    assert_send_sync::<GpuReadback>();
    assert_send_sync::<GpuRead>();
    assert_send_sync::<GpuForwardOutput>();
    assert_send_sync::<GpuForwardInput<'static>>();
}

fn random(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

fn tensor(rng: &mut StdRng, shape: &[usize], scale: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape, random(rng, n, scale)).unwrap()
}

/// An application's buffer holding `data`, with the usage an app would give an input.
fn app_buffer(ctx: &GpuContext, data: &[f32], usage: wgpu::BufferUsages) -> wgpu::Buffer {
    let buffer = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("app"),
        size: (data.len().max(1) * 4) as u64,
        usage: usage | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue()
        .write_buffer(&buffer, 0, bytemuck::cast_slice(data));
    buffer
}

/// Reads `buffer` as the application would: its own staging buffer, copy, submit, map, wait.
fn app_read(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<f32> {
    let staging = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("app staging"),
        size: buffer.size(),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, buffer.size());
    ctx.queue().submit([encoder.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| tx.send(r).unwrap());
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap();
    rx.recv().unwrap().unwrap();
    let data = bytemuck::pod_collect_to_vec(&staging.get_mapped_range(..).unwrap());
    staging.unmap();
    data
}

fn new_encoder(ctx: &GpuContext) -> wgpu::CommandEncoder {
    ctx.device()
        .create_command_encoder(&wgpu::CommandEncoderDescriptor::default())
}

/// A random streamable configuration: any of the six kinds, sizes not multiples of the tiles,
/// never bidirectional (a bidirectional model cannot stream).
fn draw_config(rng: &mut StdRng) -> RnnConfig {
    let kind = ModuleKind::ALL[rng.random_range(0..6)];
    let mut size = || match rng.random_range(0..4) {
        0 => rng.random_range(1..=5),
        1 | 2 => rng.random_range(6..=40),
        _ => rng.random_range(41..=97),
    };
    let (i, h) = (size(), size());
    let mut config = RnnConfig::new(kind, i, h).with_bias(rng.random_bool(0.8));
    if kind.family() == Family::Rnn && rng.random_bool(0.5) {
        config = config.with_nonlinearity(Nonlinearity::Relu);
    }
    if !kind.is_cell() {
        config = config.with_num_layers(rng.random_range(1..=3));
        if kind == ModuleKind::Lstm && h > 1 && rng.random_bool(0.4) {
            config = config.with_proj_size(rng.random_range(1..h));
        }
    }
    config
}

/// The CPU reference of a stream: each chunk is one forward from the carried state (f32 between
/// chunks, as the stream keeps it), with the rows in `resets` zeroed before it. Returns the
/// outputs (T, N, H_out) and the final `h` (L, N, H_out) and `c` (L, N, H).
fn cpu_stream(
    model: &Model,
    x: &[f32],
    n: usize,
    chunks: &[(usize, Vec<usize>)],
    mut h: Vec<f32>,
    mut c: Vec<f32>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let config = model.config();
    let (i, h_out, hidden, layers) = (
        config.input_size,
        config.output_hidden(),
        config.hidden_size,
        config.num_layers,
    );
    let lstm = config.family() == Family::Lstm;
    let mut outputs = Vec::new();
    let mut t0 = 0;
    for (steps, resets) in chunks {
        for layer in 0..layers {
            for &r in resets {
                h[(layer * n + r) * h_out..][..h_out].fill(0.0);
                if lstm {
                    c[(layer * n + r) * hidden..][..hidden].fill(0.0);
                }
            }
        }
        if config.kind.is_cell() {
            // One cell call per step.
            for s in t0..t0 + steps {
                let input = Tensor::new([n, i], x[s * n * i..(s + 1) * n * i].to_vec()).unwrap();
                let h0 = Tensor::new([n, h_out], h.clone()).unwrap();
                let c0 = lstm.then(|| Tensor::new([n, hidden], c.clone()).unwrap());
                let mut args = ForwardInput::new(&input).with_h0(&h0);
                args.c0 = c0.as_ref();
                let out = model.forward_reference(&args).unwrap();
                outputs.extend_from_slice(out.output.data());
                h = out.h_n.into_data();
                if let Some(c_n) = out.c_n {
                    c = c_n.into_data();
                }
            }
        } else {
            let input =
                Tensor::new([*steps, n, i], x[t0 * n * i..(t0 + steps) * n * i].to_vec()).unwrap();
            let h0 = Tensor::new([layers, n, h_out], h.clone()).unwrap();
            let c0 = lstm.then(|| Tensor::new([layers, n, hidden], c.clone()).unwrap());
            let mut args = ForwardInput::new(&input).with_h0(&h0);
            args.c0 = c0.as_ref();
            let out = model.forward_reference(&args).unwrap();
            outputs.extend_from_slice(out.output.data());
            h = out.h_n.into_data();
            if let Some(c_n) = out.c_n {
                c = c_n.into_data();
            }
        }
        t0 += steps;
    }
    (outputs, h, c)
}

fn max_rel_err(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(&a, &b)| (a as f64 - b as f64).abs() / (b as f64).abs().max(1.0))
        .fold(0.0, f64::max)
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// One random case on `ctx`: draws a model, a stream and a chunking, runs it, and returns a
/// description of what disagreed, if anything, plus the CPU error.
fn stream_case(rng: &mut StdRng, ctx: &Arc<GpuContext>) -> Result<f64, String> {
    let config = draw_config(rng);
    let model = Model::new(config.clone(), rng).unwrap();
    let gpu_model = Arc::new(GpuModel::new(&model, ctx.clone()).map_err(|e| e.to_string())?);
    let cell = config.kind.is_cell();
    let n = rng.random_range(1..=9);
    let t_len = rng.random_range(1..=if cell { 12 } else { 40 });
    // Up to 12 step counts: more than the 8 programs a stream keeps, so some are dropped while
    // an unsubmitted encoder still uses them.
    let max_steps = rng.random_range(1..=12);
    let (i, h_out, hidden, layers) = (
        config.input_size,
        config.output_hidden(),
        config.hidden_size,
        config.num_layers,
    );
    let lstm = config.family() == Family::Lstm;
    let with_resets = rng.random_bool(0.5);
    let mut chunks = Vec::new();
    let mut left = t_len;
    while left > 0 {
        let steps = rng.random_range(1..=max_steps.min(left));
        let resets: Vec<usize> = if with_resets && !chunks.is_empty() && rng.random_bool(0.4) {
            (0..n).filter(|_| rng.random_bool(0.4)).collect()
        } else {
            Vec::new()
        };
        chunks.push((steps, resets));
        left -= steps;
    }
    let describe = format!(
        "{config} N={n} T={t_len} max_steps={max_steps} chunks={:?}",
        chunks
    );
    let x = random(rng, t_len * n * i, 2.0);
    let h0 = random(rng, layers * n * h_out, 1.0);
    let c0 = if lstm {
        random(rng, layers * n * hidden, 1.0)
    } else {
        Vec::new()
    };

    // The application's buffers: all inputs, all outputs; the stream reads and writes views.
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let x_buf = app_buffer(ctx, &x, usage);
    let out_buf = app_buffer(ctx, &vec![0.0; t_len * n * h_out], usage);
    let mut stream =
        GpuStream::new(gpu_model.clone(), n, max_steps).map_err(|e| format!("{describe}: {e}"))?;
    // Initial state: through the host half the time, through the encoder otherwise.
    let h0_t = Tensor::new([layers, n, h_out], h0.clone()).unwrap();
    let c0_t = lstm.then(|| Tensor::new([layers, n, hidden], c0.clone()).unwrap());
    let mut encoder = new_encoder(ctx);
    if rng.random_bool(0.5) {
        stream
            .set_state(&h0_t, c0_t.as_ref())
            .map_err(|e| e.to_string())?;
    } else {
        let h0_gpu = GpuTensor::from_tensor(ctx, "h0", &h0_t).unwrap();
        let c0_gpu = c0_t
            .as_ref()
            .map(|c| GpuTensor::from_tensor(ctx, "c0", c).unwrap());
        stream
            .encode_set_state(&mut encoder, &h0_gpu, c0_gpu.as_ref())
            .map_err(|e| e.to_string())?;
    }
    let mut t0 = 0;
    for (steps, resets) in &chunks {
        if !resets.is_empty() {
            stream
                .encode_reset_rows(&mut encoder, resets)
                .map_err(|e| e.to_string())?;
        }
        let input =
            GpuTensor::from_buffer_at(x_buf.clone(), (t0 * n * i * 4) as u64, [*steps, n, i])
                .unwrap();
        let output = GpuTensor::from_buffer_at(
            out_buf.clone(),
            (t0 * n * h_out * 4) as u64,
            [*steps, n, h_out],
        )
        .unwrap();
        stream
            .encode_step(&mut encoder, &input, Some(&output))
            .map_err(|e| format!("{describe}: {e}"))?;
        t0 += steps;
        // Submit now and then: state must persist across submissions too.
        if rng.random_bool(0.3) {
            let done = std::mem::replace(&mut encoder, new_encoder(ctx));
            ctx.queue().submit([done.finish()]);
        }
    }
    ctx.queue().submit([encoder.finish()]);
    let got_out = app_read(ctx, &out_buf);
    let (got_h, got_c) = stream.read_state().map_err(|e| e.to_string())?;

    let (want_out, want_h, want_c) = cpu_stream(&model, &x, n, &chunks, h0.clone(), c0.clone());
    let mut worst = max_rel_err(&got_out, &want_out).max(max_rel_err(got_h.data(), &want_h));
    if let Some(c) = &got_c {
        worst = worst.max(max_rel_err(c.data(), &want_c));
    }
    if worst > TOLERANCE {
        return Err(format!("{describe}: CPU error {worst:e}"));
    }

    // Without resets, the stream must equal the GPU's one-call forward to the bit.
    if !with_resets || chunks.iter().all(|(_, r)| r.is_empty()) {
        let (seq_out, seq_h, seq_c) = if cell {
            let (mut out, mut h, mut c) = (Vec::new(), h0.clone(), c0.clone());
            for s in 0..t_len {
                let input = Tensor::new([n, i], x[s * n * i..(s + 1) * n * i].to_vec()).unwrap();
                let h_t = Tensor::new([n, h_out], h).unwrap();
                let c_t = lstm.then(|| Tensor::new([n, hidden], c.clone()).unwrap());
                let mut args = ForwardInput::new(&input).with_h0(&h_t);
                args.c0 = c_t.as_ref();
                let r = gpu_model.forward(&args).map_err(|e| e.to_string())?;
                out.extend_from_slice(r.output.data());
                h = r.h_n.into_data();
                c = r.c_n.map_or(c, Tensor::into_data);
            }
            (out, h, c)
        } else {
            let input = Tensor::new([t_len, n, i], x.clone()).unwrap();
            let mut args = ForwardInput::new(&input).with_h0(&h0_t);
            args.c0 = c0_t.as_ref();
            let r = gpu_model.forward(&args).map_err(|e| e.to_string())?;
            let c = r.c_n.map_or(Vec::new(), Tensor::into_data);
            (r.output.into_data(), r.h_n.into_data(), c)
        };
        let c_ok = got_c.as_ref().is_none_or(|c| same_bits(c.data(), &seq_c));
        if !(same_bits(&got_out, &seq_out) && same_bits(got_h.data(), &seq_h) && c_ok) {
            return Err(format!(
                "{describe}: stream differs from the one-call forward (max diff {:e})",
                max_rel_err(&got_out, &seq_out)
            ));
        }
    }
    Ok(worst)
}

#[test]
fn streaming_equals_one_forward_and_the_cpu_reference_on_random_configurations() {
    let base = gpu::seed();
    let cases = std::env::var("WGPU_RNN_STREAM_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    gpu::say(&format!(
        "streaming: {cases} cases, replay with WGPU_RNN_SEED={base}"
    ));
    for backend in gpu::backends() {
        let start = Instant::now();
        let mut rng = StdRng::seed_from_u64(base);
        let mut failures = Vec::new();
        let mut worst = 0f64;
        for index in 0..cases {
            match stream_case(&mut rng, &backend.context) {
                Ok(err) => worst = worst.max(err),
                Err(e) => failures.push(format!("case {index}: {e}")),
            }
        }
        assert!(
            failures.is_empty(),
            "streaming on {} (WGPU_RNN_SEED={base}): {} of {cases} cases failed:\n{}",
            backend.name,
            failures.len(),
            failures.join("\n")
        );
        gpu::say(&format!(
            "streaming on {}: {cases} random streams equal the one-call forward bit for bit and \
             the CPU reference within {TOLERANCE:e} (worst {worst:.2e}) in {:.1?}",
            backend.name,
            start.elapsed()
        ));
    }
}

#[test]
fn bidirectional_models_cannot_stream() {
    let mut rng = StdRng::seed_from_u64(3);
    for backend in gpu::backends() {
        let config = RnnConfig::gru(3, 5).with_bidirectional(true);
        let model = Model::new(config, &mut rng).unwrap();
        let gpu_model = Arc::new(GpuModel::new(&model, backend.context.clone()).unwrap());
        let err = GpuStream::new(gpu_model, 2, 1).unwrap_err();
        assert!(matches!(err, Error::CannotStream { .. }), "{err}");
        assert!(err.to_string().contains("reverse direction"), "{err}");
    }
}

#[test]
fn encode_forward_reads_and_writes_application_buffers_in_its_encoder() {
    let mut rng = StdRng::seed_from_u64(4);
    // Fresh contexts: this test counts buffers and bind groups, which the other tests of this
    // binary create concurrently on the shared ones.
    for backend in &gpu::fresh_backends() {
        let ctx = &backend.context;
        for config in [
            RnnConfig::lstm(5, 11)
                .with_num_layers(2)
                .with_bidirectional(true)
                .with_proj_size(3),
            RnnConfig::gru(7, 9).with_num_layers(3),
            RnnConfig::rnn_cell(4, 6),
        ] {
            let model = Model::new(config.clone(), &mut rng).unwrap();
            let gpu_model = GpuModel::new(&model, ctx.clone()).unwrap();
            let cell = config.kind.is_cell();
            let (t_len, n) = (if cell { 1 } else { 13 }, 3);
            let x_shape = if cell {
                vec![n, config.input_size]
            } else {
                vec![t_len, n, config.input_size]
            };
            let x = tensor(&mut rng, &x_shape, 2.0);
            let h_shape = if cell {
                vec![n, config.hidden_size]
            } else {
                vec![config.num_groups(), n, config.output_hidden()]
            };
            let h0 = tensor(&mut rng, &h_shape, 1.0);
            // An LSTM takes (h0, c0) together, as PyTorch does.
            let c_shape = [config.num_groups(), n, config.hidden_size];
            let c0 = (config.family() == Family::Lstm).then(|| tensor(&mut rng, &c_shape, 1.0));
            let mut args = ForwardInput::new(&x).with_h0(&h0);
            args.c0 = c0.as_ref();
            let want = gpu_model.forward(&args).unwrap();

            // The application's own buffers (`app_buffer` adds COPY_DST, which results need).
            let src = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
            let dst = src;
            let x_gpu = GpuTensor::from_buffer(app_buffer(ctx, x.data(), src), x_shape).unwrap();
            let h0_gpu =
                GpuTensor::from_buffer(app_buffer(ctx, h0.data(), src), h_shape.clone()).unwrap();
            let c0_gpu = c0.as_ref().map(|c0| {
                GpuTensor::from_buffer(app_buffer(ctx, c0.data(), src), c_shape).unwrap()
            });
            let mut gpu_args = GpuForwardInput::new(&x_gpu).with_h0(&h0_gpu);
            gpu_args.c0 = c0_gpu.as_ref();
            let out_buf = app_buffer(ctx, &vec![0.0; want.output.data().len()], dst);
            let h_n_buf = app_buffer(ctx, &vec![0.0; want.h_n.data().len()], dst);
            let out = GpuForwardOutput {
                output: GpuTensor::from_buffer(out_buf.clone(), want.output.shape()).unwrap(),
                h_n: Some(GpuTensor::from_buffer(h_n_buf.clone(), h_shape.clone()).unwrap()),
                c_n: None,
            };
            let submissions = ctx.submission_count();
            let mut encoder = new_encoder(ctx);
            gpu_model
                .encode_forward(&mut encoder, &gpu_args, &out)
                .unwrap();
            assert_eq!(ctx.submission_count(), submissions, "no submit of its own");
            ctx.queue().submit([encoder.finish()]);
            let got_out = app_read(ctx, &out_buf);
            let got_h = app_read(ctx, &h_n_buf);
            assert!(same_bits(&got_out, want.output.data()), "{config} output");
            assert!(same_bits(&got_h, want.h_n.data()), "{config} h_n");

            // Library-allocated results, read with the blocking helper; a second call reuses
            // every buffer and bind group.
            let out = gpu_model.forward_output_for(x_gpu.shape()).unwrap();
            let (buffers, groups) = (ctx.buffer_count(), ctx.bind_group_count());
            let mut encoder = new_encoder(ctx);
            gpu_model
                .encode_forward(&mut encoder, &gpu_args, &out)
                .unwrap();
            ctx.queue().submit([encoder.finish()]);
            assert_eq!(
                (ctx.buffer_count(), ctx.bind_group_count()),
                (buffers, groups)
            );
            assert!(same_bits(
                out.output.read(ctx).unwrap().data(),
                want.output.data()
            ));

            // A buffer without COPY_SRC is refused up front, not by a wgpu panic at submit.
            let no_copy = ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: x.data().len() as u64 * 4,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            });
            let bad = GpuTensor::from_buffer(no_copy, x_gpu.shape()).unwrap();
            let err = gpu_model
                .encode_forward(&mut new_encoder(ctx), &GpuForwardInput::new(&bad), &out)
                .unwrap_err();
            assert!(matches!(err, Error::BadBuffer { .. }), "{err}");
            // Half an LSTM state is refused, as on the host.
            if c0.is_some() {
                let err = gpu_model
                    .encode_forward(
                        &mut new_encoder(ctx),
                        &GpuForwardInput::new(&x_gpu).with_h0(&h0_gpu),
                        &out,
                    )
                    .unwrap_err();
                assert!(matches!(err, Error::IncompleteState { .. }), "{err}");
            }
        }
    }
}

/// The application's own device, made with wgpu for `backend`'s kind of adapter.
fn app_device(backend: &gpu::Backend) -> (wgpu::Device, wgpu::Queue) {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = backend.context.adapter_info().backend.into();
    let instance = wgpu::Instance::new(desc);
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .unwrap();
    pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("the app's device"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .unwrap()
}

#[test]
fn models_on_an_application_device_step_in_one_encoder_without_allocating() {
    let mut rng = StdRng::seed_from_u64(5);
    for backend in gpu::backends() {
        let (device, queue) = app_device(backend);
        let ctx = Arc::new(GpuContext::from_device(device.clone(), queue.clone()));
        let lstm = Model::new(RnnConfig::lstm(3, 10).with_num_layers(2), &mut rng).unwrap();
        let gru = Model::new(RnnConfig::gru_cell(3, 7), &mut rng).unwrap();
        let lstm_gpu = Arc::new(GpuModel::new(&lstm, ctx.clone()).unwrap());
        let gru_gpu = Arc::new(GpuModel::new(&gru, ctx.clone()).unwrap());
        let n = 2;
        let mut streams = [
            GpuStream::new(lstm_gpu.clone(), n, 1).unwrap(),
            GpuStream::new(gru_gpu.clone(), n, 1).unwrap(),
        ];
        let frames = 30;
        let x = tensor(&mut rng, &[frames, n, 3], 1.5);
        let x_gpu = GpuTensor::from_tensor(&ctx, "x", &x).unwrap();
        let outs = [
            GpuTensor::zeros(&ctx, "lstm out", [frames, n, 10]).unwrap(),
            GpuTensor::zeros(&ctx, "gru out", [frames, n, 7]).unwrap(),
        ];
        let readback = GpuReadback::new(&ctx, n * 10).unwrap();
        let mut counts = None;
        let mut last_read = None;
        for frame in 0..frames {
            if frame == 2 {
                // Warm-up over: from here on nothing is created.
                counts = Some((
                    ctx.buffer_count(),
                    ctx.bind_group_count(),
                    ctx.pipeline_count(),
                    ctx.submission_count(),
                ));
            }
            let mut encoder = device.create_command_encoder(&Default::default());
            let input = GpuTensor::from_buffer_at(
                x_gpu.buffer().clone(),
                (frame * n * 3 * 4) as u64,
                [1, n, 3],
            )
            .unwrap();
            for (stream, out) in streams.iter_mut().zip(&outs) {
                let width = out.shape()[2];
                let dst = GpuTensor::from_buffer_at(
                    out.buffer().clone(),
                    (frame * n * width * 4) as u64,
                    [1, n, width],
                )
                .unwrap();
                stream
                    .encode_step(&mut encoder, &input, Some(&dst))
                    .unwrap();
            }
            // Read the LSTM's step output asynchronously, as a game would.
            let read = readback
                .is_idle()
                .then(|| readback.encode(&mut encoder, streams[0].output()).unwrap());
            queue.submit([encoder.finish()]);
            ctx.poll().unwrap();
            if let Some(read) = read {
                last_read = Some((frame, read));
            }
            if let Some((f, read)) = &mut last_read
                && let Some(r) = read.try_take()
            {
                let got = r.unwrap();
                assert_eq!(got.shape(), &[1, n, 10]);
                assert!(*f < frames);
                last_read = None;
            }
        }
        if let Some((_, read)) = last_read {
            read.wait().unwrap();
        }
        let after = (
            ctx.buffer_count(),
            ctx.bind_group_count(),
            ctx.pipeline_count(),
            ctx.submission_count(),
        );
        assert_eq!(
            Some(after),
            counts,
            "buffers, bind groups, pipelines, submits after warm-up"
        );

        let want_lstm = lstm_gpu.forward(&ForwardInput::new(&x)).unwrap();
        assert!(same_bits(
            outs[0].read(&ctx).unwrap().data(),
            want_lstm.output.data()
        ));
        let (h, c) = streams[0].read_state().unwrap();
        assert!(same_bits(h.data(), want_lstm.h_n.data()));
        assert!(same_bits(c.unwrap().data(), want_lstm.c_n.unwrap().data()));
        let want_gru = gru.forward_reference(&ForwardInput::new(
            &Tensor::new([n, 3], x.data()[..n * 3].to_vec()).unwrap(),
        ));
        let got_gru = outs[1].read(&ctx).unwrap();
        let err = max_rel_err(&got_gru.data()[..n * 7], want_gru.unwrap().output.data());
        assert!(err <= TOLERANCE, "GRUCell first step {err}");
        // Resetting every row returns the stream to the zero state.
        streams[1].reset().unwrap();
        assert!(
            streams[1]
                .read_state()
                .unwrap()
                .0
                .data()
                .iter()
                .all(|&v| v == 0.0)
        );
    }
}

#[test]
fn readback_futures_resolve_after_submit_and_refuse_misuse() {
    let mut rng = StdRng::seed_from_u64(6);
    for backend in gpu::backends() {
        let ctx = &backend.context;
        let t = tensor(&mut rng, &[3, 4], 1.0);
        let gpu_t = GpuTensor::from_tensor(ctx, "t", &t).unwrap();
        let readback = GpuReadback::new(ctx, 12).unwrap();

        // As a future, driven by polling the device.
        let mut encoder = new_encoder(ctx);
        let read = readback.encode(&mut encoder, &gpu_t).unwrap();
        assert!(!readback.is_idle());
        assert!(matches!(
            readback.encode(&mut new_encoder(ctx), &gpu_t),
            Err(Error::ReadbackBusy)
        ));
        ctx.queue().submit([encoder.finish()]);
        let got = pollster::block_on(async {
            let mut read = std::pin::pin!(read);
            std::future::poll_fn(|cx| {
                ctx.poll().unwrap();
                let r = read.as_mut().poll(cx);
                if r.is_pending() {
                    cx.waker().wake_by_ref();
                }
                r
            })
            .await
        })
        .unwrap();
        assert_eq!(got, t);
        assert!(readback.is_idle());

        // Blocking.
        let mut encoder = new_encoder(ctx);
        let read = readback.encode(&mut encoder, &gpu_t).unwrap();
        ctx.queue().submit([encoder.finish()]);
        assert_eq!(read.wait().unwrap(), t);

        // An encoder dropped unsubmitted: an error, not a hang; the slot frees itself.
        let mut encoder = new_encoder(ctx);
        let read = readback.encode(&mut encoder, &gpu_t).unwrap();
        drop(encoder);
        assert!(read.wait().is_err());
        assert!(readback.is_idle());

        // A read dropped before completion: the slot is reusable afterwards.
        let mut encoder = new_encoder(ctx);
        drop(readback.encode(&mut encoder, &gpu_t).unwrap());
        ctx.queue().submit([encoder.finish()]);
        ctx.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .unwrap();
        let mut encoder = new_encoder(ctx);
        let read = readback.encode(&mut encoder, &gpu_t).unwrap();
        ctx.queue().submit([encoder.finish()]);
        assert_eq!(read.wait().unwrap(), t);
    }
}

#[test]
fn in_place_steps_and_rank_two_inputs_match_encode_step() {
    let mut rng = StdRng::seed_from_u64(7);
    for backend in gpu::backends() {
        let ctx = &backend.context;
        let model = Model::new(RnnConfig::lstm(6, 9).with_proj_size(4), &mut rng).unwrap();
        let gpu_model = Arc::new(GpuModel::new(&model, ctx.clone()).unwrap());
        let n = 3;
        let mut a = GpuStream::new(gpu_model.clone(), n, 2).unwrap();
        let mut b = GpuStream::new(gpu_model.clone(), n, 2).unwrap();
        let outs_a = GpuTensor::zeros(ctx, "a", [n, 4]).unwrap();
        let outs_b = GpuTensor::zeros(ctx, "b", [1, n, 4]).unwrap();
        for _ in 0..5 {
            let x = tensor(&mut rng, &[n, 6], 1.0);
            // a: the application's (N, I) tensor; b: written straight into the stream's input.
            let x_gpu = GpuTensor::from_tensor(ctx, "x", &x).unwrap();
            ctx.queue()
                .write_buffer(b.input().buffer(), 0, bytemuck::cast_slice(x.data()));
            let mut encoder = new_encoder(ctx);
            a.encode_step(&mut encoder, &x_gpu, Some(&outs_a)).unwrap();
            b.encode_step_in_place(&mut encoder, 1, Some(&outs_b))
                .unwrap();
            ctx.queue().submit([encoder.finish()]);
            let (ya, yb) = (outs_a.read(ctx).unwrap(), outs_b.read(ctx).unwrap());
            assert!(same_bits(ya.data(), yb.data()));
        }
        let (ha, ca) = a.read_state().unwrap();
        let (hb, cb) = b.read_state().unwrap();
        assert!(same_bits(ha.data(), hb.data()));
        assert!(same_bits(ca.unwrap().data(), cb.unwrap().data()));
        assert_eq!((a.steps_taken(), b.steps_taken()), (5, 5));
        // Too many steps, the wrong width, and the stream's own buffer as a copy source.
        let mut encoder = new_encoder(ctx);
        assert!(a.encode_step_in_place(&mut encoder, 3, None).is_err());
        let wide = GpuTensor::zeros(ctx, "wide", [1, n, 7]).unwrap();
        assert!(a.encode_step(&mut encoder, &wide, None).is_err());
        let own = a.input().clone();
        assert!(matches!(
            a.encode_step(&mut encoder, &own, None),
            Err(Error::BadBuffer { .. })
        ));
    }
}
