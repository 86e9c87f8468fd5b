//! The GPU host layer on every backend under test (see `tests/common/gpu.rs`): one submit per
//! forward, buffers reused across calls of the same shape, the CPU path's validation errors, time
//! chunking under small device limits, `TooLarge` instead of a wgpu panic, concurrent callers, and
//! saturating / NaN inputs.

#[path = "common/gpu.rs"]
mod gpu;

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgpu_rnn::gpu::kernels::{Kernel, PlanChoice, PlanKind, Tiling};
use wgpu_rnn::{
    Error, ForwardInput, ForwardOutput, GpuContext, GpuModel, Model, Nonlinearity, RnnConfig,
    Tensor,
};

fn tensor(rng: &mut StdRng, shape: &[usize], scale: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(
        shape,
        (0..n).map(|_| rng.random_range(-scale..scale)).collect(),
    )
    .unwrap()
}

fn assert_close(got: &ForwardOutput, want: &ForwardOutput, what: &str) {
    let pairs = [
        ("output", Some(&got.output), Some(&want.output)),
        ("h_n", Some(&got.h_n), Some(&want.h_n)),
        ("c_n", got.c_n.as_ref(), want.c_n.as_ref()),
    ];
    for (name, g, w) in pairs {
        let (Some(g), Some(w)) = (g, w) else {
            assert_eq!(g.is_some(), w.is_some(), "{what}: {name} presence");
            continue;
        };
        assert_eq!(g.shape(), w.shape(), "{what}: {name} shape");
        for (k, (&a, &b)) in g.data().iter().zip(w.data()).enumerate() {
            if b.is_nan() {
                assert!(a.is_nan(), "{what}: {name}[{k}] = {a}, expected NaN");
            } else {
                let err = (a as f64 - b as f64).abs() / (b as f64).abs().max(1.0);
                assert!(err <= 1e-5, "{what}: {name}[{k}] = {a}, expected {b}");
            }
        }
    }
}

#[test]
fn one_forward_is_one_submit_and_a_repeated_shape_creates_no_buffers() {
    let mut rng = StdRng::seed_from_u64(1);
    let config = RnnConfig::lstm(5, 12)
        .with_num_layers(3)
        .with_bidirectional(true)
        .with_proj_size(4);
    let model = Model::new(config, &mut rng).unwrap();
    let x = tensor(&mut rng, &[9, 3, 5], 1.0);
    let lengths = [9, 4, 7];
    let args = ForwardInput::new(&x).with_lengths(&lengths);
    let want = model.forward_reference(&args).unwrap();
    for backend in gpu::fresh_backends() {
        let ctx = &backend.context;
        // The per-step plan: 3 layers × (1 projection + 9 × (lstm_step + lstm_projection)).
        let gpu_model = GpuModel::with_plan(&model, ctx.clone(), PlanChoice::PerStep).unwrap();
        let plan = gpu_model.plan(9, 3).unwrap();
        assert_eq!(plan.dispatches.len(), 3 * (1 + 2 * 9), "{}", backend.name);

        let (submits, buffers) = (ctx.submission_count(), ctx.buffer_count());
        assert_close(&gpu_model.forward(&args).unwrap(), &want, &backend.name);
        assert_eq!(
            ctx.submission_count() - submits,
            1,
            "{}: one submit",
            backend.name
        );
        let after_first = ctx.buffer_count();
        assert!(after_first > buffers, "the first call of a shape allocates");

        let x2 = tensor(&mut rng, &[9, 3, 5], 1.0);
        let args2 = ForwardInput::new(&x2).with_lengths(&lengths);
        assert_close(
            &gpu_model.forward(&args2).unwrap(),
            &model.forward_reference(&args2).unwrap(),
            &backend.name,
        );
        assert_eq!(ctx.submission_count() - submits, 2, "{}", backend.name);
        assert_eq!(
            ctx.buffer_count(),
            after_first,
            "{}: same shape, no new buffers",
            backend.name
        );

        // Another shape allocates again, and is right.
        let x3 = tensor(&mut rng, &[4, 2, 5], 1.0);
        let args3 = ForwardInput::new(&x3);
        assert_close(
            &gpu_model.forward(&args3).unwrap(),
            &model.forward_reference(&args3).unwrap(),
            &backend.name,
        );
        assert!(ctx.buffer_count() > after_first);
        assert_eq!(ctx.submission_count() - submits, 3);
    }
}

#[test]
fn invalid_calls_get_the_cpu_paths_errors() {
    let mut rng = StdRng::seed_from_u64(2);
    let model = Model::new(RnnConfig::gru(4, 6).with_num_layers(2), &mut rng).unwrap();
    let cell = Model::new(RnnConfig::lstm_cell(4, 6), &mut rng).unwrap();
    let x = tensor(&mut rng, &[5, 2, 4], 1.0);
    let wide = tensor(&mut rng, &[5, 2, 3], 1.0);
    let h0_bad = tensor(&mut rng, &[1, 2, 6], 1.0);
    let c0 = tensor(&mut rng, &[2, 2, 6], 1.0);
    let cell_x = tensor(&mut rng, &[2, 4], 1.0);
    let cell_h0 = tensor(&mut rng, &[2, 6], 1.0);
    let too_long = [5, 6];
    let zero = [0, 3];
    let cases: Vec<(&Model, ForwardInput<'_>)> = vec![
        (&model, ForwardInput::new(&wide)),
        (&model, ForwardInput::new(&x).with_h0(&h0_bad)),
        (&model, ForwardInput::new(&x).with_c0(&c0)),
        (&model, ForwardInput::new(&x).with_lengths(&too_long)),
        (&model, ForwardInput::new(&x).with_lengths(&zero)),
        (&model, ForwardInput::new(&x).with_lengths(&[5])),
        (&cell, ForwardInput::new(&cell_x).with_lengths(&[1, 1])),
        (&cell, ForwardInput::new(&cell_x).with_h0(&cell_h0)),
        (&cell, ForwardInput::new(&x)),
    ];
    for backend in gpu::backends() {
        for (m, args) in &cases {
            let cpu = m.forward_reference(args).unwrap_err().to_string();
            let gpu_model = GpuModel::new(m, backend.context.clone()).unwrap();
            let gpu = gpu_model.forward(args).unwrap_err().to_string();
            assert_eq!(gpu, cpu, "{}", backend.name);
        }
    }
}

/// A device whose binding limit is far below the model's needs: the projection runs in chunks of
/// steps, and a call whose output cannot fit is refused as `TooLarge`.
#[test]
fn small_binding_limits_chunk_the_projection_or_refuse_cleanly() {
    let mut rng = StdRng::seed_from_u64(3);
    let base = RnnConfig::lstm(7, 40)
        .with_bidirectional(true)
        .with_num_layers(2);
    // The second model projects h to 30 features (the sequence plan's projection phase).
    for config in [base.clone(), base.with_proj_size(30)] {
        let model = Model::new(config.clone(), &mut rng).unwrap();
        let (t, n) = (60, 5);
        let x = tensor(&mut rng, &[t, n, 7], 1.5);
        let lengths = [60, 13, 41, 1, 59];
        let args = ForwardInput::new(&x).with_lengths(&lengths);
        let want = model.forward_reference(&args).unwrap();
        for backend in gpu::backends() {
            let what = format!("{} {config}", backend.name);
            let (device, queue) = device_like(backend, |limits| {
                // The output (T, N, 2·40) takes 96 000 bytes, W_ih of layer 1 (2, 80, 160)
                // 102 400 (with the projection 72 000 and 76 800), one step of gx (2, N, 160)
                // 6 400: the projection runs in chunks of 18 steps.
                limits.max_storage_buffer_binding_size = 120_000;
            });
            let ctx = Arc::new(GpuContext::from_device(device, queue));
            assert_eq!(ctx.limits().max_storage_buffer_binding_size, 120_000);
            for choice in [PlanChoice::PerStep, PlanChoice::Sequence] {
                let gpu_model = GpuModel::with_plan(&model, ctx.clone(), choice).unwrap();
                let plan = gpu_model.plan(t, n).unwrap();
                let chunks = plan
                    .dispatches
                    .iter()
                    .filter(|d| d.kernel == Kernel::InputProjection)
                    .count();
                assert!(chunks > 2 * 2, "{what}: {chunks} projection chunks");
                assert_close(&gpu_model.forward(&args).unwrap(), &want, &what);

                let long = tensor(&mut rng, &[120, n, 7], 1.0);
                match gpu_model.forward(&ForwardInput::new(&long)) {
                    Err(Error::TooLarge { what, .. }) => assert!(what.contains("output"), "{what}"),
                    other => panic!("{what}: expected TooLarge, got {other:?}"),
                }
                // The model still works after the refusal.
                assert_close(&gpu_model.forward(&args).unwrap(), &want, &what);
            }
        }
    }
}

/// The sequence plan (one dispatch looping over all steps per layer) for each family, forced and
/// as the automatic choice on CPU adapters: one projection and one sequence dispatch per layer,
/// one submit, no new buffers for a repeated shape, the CPU reference's results with lengths,
/// initial states, both directions, several layers, several workgroups per direction, a
/// partial register block and an LSTM projection; and the per-step plan on the same calls.
#[test]
fn the_sequence_plan_matches_the_reference_in_one_dispatch_per_layer() {
    let mut rng = StdRng::seed_from_u64(7);
    let configs = [
        RnnConfig::rnn(6, 21).with_nonlinearity(Nonlinearity::Relu),
        RnnConfig::lstm(6, 21),
        RnnConfig::lstm(6, 21).with_proj_size(9),
        RnnConfig::gru(6, 21),
    ];
    for backend in gpu::fresh_backends() {
        let ctx = &backend.context;
        for config in &configs {
            let config = config.clone().with_num_layers(2).with_bidirectional(true);
            let model = Model::new(config.clone(), &mut rng).unwrap();
            let (t, n) = (13, 11);
            let x = tensor(&mut rng, &[t, n, 6], 1.5);
            let h0 = tensor(&mut rng, &[4, n, config.output_hidden()], 1.0);
            let c0 = tensor(&mut rng, &[4, n, 21], 1.0);
            let lengths = [13, 1, 7, 13, 2, 9, 13, 4, 13, 11, 6];
            let mut args = ForwardInput::new(&x).with_h0(&h0).with_lengths(&lengths);
            if config.family() == wgpu_rnn::Family::Lstm {
                args = args.with_c0(&c0);
            }
            let want = model.forward_reference(&args).unwrap();
            let what = format!("{} {config}", backend.name);
            for choice in [PlanChoice::Sequence, PlanChoice::PerStep, PlanChoice::Auto] {
                let gpu_model = GpuModel::with_plan(&model, ctx.clone(), choice).unwrap();
                let kind = gpu_model.plan_kind();
                let expected = match choice {
                    PlanChoice::PerStep => PlanKind::PerStep,
                    PlanChoice::Sequence => PlanKind::Sequence,
                    PlanChoice::Auto if ctx.adapter_info().device_type == wgpu::DeviceType::Cpu => {
                        PlanKind::Sequence
                    }
                    PlanChoice::Auto => kind,
                };
                assert_eq!(kind, expected, "{what} {choice:?}");
                let plan = gpu_model.plan(t, n).unwrap();
                if kind == PlanKind::Sequence {
                    assert_eq!(plan.dispatches.len(), 2 * 2, "{what}");
                }
                let submits = ctx.submission_count();
                assert_close(
                    &gpu_model.forward(&args).unwrap(),
                    &want,
                    &format!("{what} {kind:?}"),
                );
                assert_eq!(ctx.submission_count() - submits, 1, "{what}: one submit");
                let buffers = ctx.buffer_count();
                assert_close(
                    &gpu_model.forward(&args).unwrap(),
                    &want,
                    &format!("{what} again"),
                );
                assert_eq!(ctx.buffer_count(), buffers, "{what}: no new buffers");
            }
        }
    }
}

/// `set_gpu_timing` times the pass where the device has timestamp queries, inside the one submit
/// of the forward; the buffer byte counts cover weights and the call shape.
#[test]
fn gpu_timing_and_buffer_bytes() {
    let mut rng = StdRng::seed_from_u64(8);
    let model = Model::new(RnnConfig::lstm(5, 16).with_num_layers(2), &mut rng).unwrap();
    let x = tensor(&mut rng, &[20, 3, 5], 1.0);
    let args = ForwardInput::new(&x);
    let want = model.forward_reference(&args).unwrap();
    for backend in gpu::fresh_backends() {
        let ctx = &backend.context;
        let gpu_model = GpuModel::new(&model, ctx.clone()).unwrap();
        let (weights, shape) = gpu_model.gpu_buffer_bytes();
        // W_ih (5 + 16 inputs), W_hh, biases of 4·16 gate columns, f32.
        assert_eq!(weights, 4 * (4 * 16) * ((5 + 16) + 2 * 16 + 2));
        assert_eq!(shape, 0, "no call shape yet");
        assert_eq!(gpu_model.last_gpu_ms(), None);
        gpu_model.set_gpu_timing(true);
        let submits = ctx.submission_count();
        assert_close(&gpu_model.forward(&args).unwrap(), &want, &backend.name);
        assert_eq!(ctx.submission_count() - submits, 1);
        let plan = gpu_model.plan(20, 3).unwrap();
        let s = plan.sizes;
        let at_least = s.x + s.lengths + s.gx + 2 * s.h + s.c + s.output * 2 + s.table + s.staging;
        assert!(
            gpu_model.gpu_buffer_bytes().1 >= at_least,
            "{}",
            backend.name
        );
        match gpu_model.last_gpu_ms() {
            Some(ms) => assert!(
                ctx.has_timestamps() && (0.0..60_000.0).contains(&ms),
                "{ms}"
            ),
            None => assert!(
                !ctx.has_timestamps(),
                "{}: timestamps but no time",
                backend.name
            ),
        }
        gpu_model.set_gpu_timing(false);
        assert_close(&gpu_model.forward(&args).unwrap(), &want, &backend.name);
    }
}

/// A new device on the adapter of `backend`, with its limits adjusted by `adjust`.
fn device_like(
    backend: &gpu::Backend,
    adjust: impl FnOnce(&mut wgpu::Limits),
) -> (wgpu::Device, wgpu::Queue) {
    let info = backend.context.adapter_info();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter = pollster::block_on(instance.enumerate_adapters(info.backend.into()))
        .into_iter()
        .find(|a| a.get_info() == *info)
        .expect("the backend's adapter");
    let mut limits = adapter.limits();
    adjust(&mut limits);
    pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_limits: limits,
        ..Default::default()
    }))
    .unwrap()
}

#[test]
fn a_destroyed_device_is_an_error_not_a_panic() {
    let mut rng = StdRng::seed_from_u64(6);
    let model = Model::new(RnnConfig::lstm(4, 8), &mut rng).unwrap();
    let x = tensor(&mut rng, &[5, 2, 4], 1.0);
    for backend in gpu::backends() {
        let (device, queue) = device_like(backend, |_| {});
        let ctx = Arc::new(GpuContext::from_device(device.clone(), queue));
        let gpu_model = GpuModel::new(&model, ctx).unwrap();
        gpu_model.forward(&ForwardInput::new(&x)).unwrap();
        device.destroy();
        match gpu_model.forward(&ForwardInput::new(&x)) {
            Err(Error::DeviceLost(message)) => assert!(!message.is_empty()),
            other => panic!("{}: expected DeviceLost, got {other:?}", backend.name),
        }
        assert!(matches!(
            GpuModel::new(&model, gpu_model.context().clone()),
            Err(Error::DeviceLost(_))
        ));
    }
}

#[test]
fn concurrent_callers_share_one_model() {
    let mut rng = StdRng::seed_from_u64(4);
    let model = Model::new(RnnConfig::gru(6, 10).with_bidirectional(true), &mut rng).unwrap();
    let inputs: Vec<Tensor> = (0..4)
        .map(|i| tensor(&mut rng, &[8 + i % 2, 3, 6], 1.0))
        .collect();
    for backend in gpu::backends() {
        let gpu_model = GpuModel::new(&model, backend.context.clone()).unwrap();
        std::thread::scope(|s| {
            for x in &inputs {
                let (gpu_model, model) = (&gpu_model, &model);
                s.spawn(move || {
                    for _ in 0..3 {
                        let args = ForwardInput::new(x);
                        assert_close(
                            &gpu_model.forward(&args).unwrap(),
                            &model.forward_reference(&args).unwrap(),
                            "concurrent",
                        );
                    }
                });
            }
        });
    }
}

/// Huge pre-activations saturate sigmoid/tanh without NaN; NaN inputs propagate like PyTorch,
/// relu included.
#[test]
fn saturation_and_nan_follow_pytorch() {
    let mut rng = StdRng::seed_from_u64(5);
    let configs = [
        RnnConfig::rnn(3, 5),
        RnnConfig::rnn(3, 5).with_nonlinearity(Nonlinearity::Relu),
        RnnConfig::lstm(3, 5).with_proj_size(2),
        RnnConfig::gru(3, 5).with_bidirectional(true),
    ];
    for backend in gpu::backends() {
        for config in &configs {
            let model = Model::new(config.clone(), &mut rng).unwrap();
            let gpu_model = GpuModel::new(&model, backend.context.clone()).unwrap();
            let mut big = tensor(&mut rng, &[6, 2, 3], 1.0);
            for (k, v) in big.data_mut().iter_mut().enumerate() {
                *v *= [1.0, 1e3, 1e6, 1e30][k % 4];
            }
            let args = ForwardInput::new(&big);
            let got = gpu_model.forward(&args).unwrap();
            let want = model.forward_reference(&args).unwrap();
            let what = format!("{} {config} huge inputs", backend.name);
            if config.nonlinearity == Nonlinearity::Tanh {
                assert!(got.output.data().iter().all(|v| v.is_finite()), "{what}");
            }
            assert_close(&got, &want, &what);

            let mut nan = tensor(&mut rng, &[6, 2, 3], 1.0);
            nan.data_mut()[3 * 2 * 3 + 1] = f32::NAN; // t = 3, row 0
            let args = ForwardInput::new(&nan);
            let got = gpu_model.forward(&args).unwrap();
            let want = model.forward_reference(&args).unwrap();
            assert!(want.output.data().iter().any(|v| v.is_nan()));
            assert_close(&got, &want, &format!("{} {config} NaN input", backend.name));
        }
    }
}

/// `GpuContext::new` picks its adapter from wgpu's environment variables (`WGPU_BACKEND`, ...).
#[test]
fn the_default_context_follows_the_environment() {
    if gpu::backends().is_empty() {
        return;
    }
    let ctx = GpuContext::new().unwrap();
    if let Some(wanted) = wgpu::Backends::from_env() {
        let got: wgpu::Backends = ctx.adapter_info().backend.into();
        assert!(wanted.contains(got), "WGPU_BACKEND={wanted:?} gave {got:?}");
    }
    assert_eq!(ctx.submission_count(), 0);
}

/// The sequence plan as a discrete GPU gets it (one workgroup per 8 rows, up to 256 invocations,
/// `slice_max` 8), run on the backends under test: the tiling real GPUs use is exercised here too.
#[test]
fn the_gpu_style_sequence_tiling_matches_the_reference() {
    let mut rng = StdRng::seed_from_u64(9);
    for backend in gpu::backends() {
        let ctx = &backend.context;
        let mut info = ctx.adapter_info().clone();
        info.device_type = wgpu::DeviceType::DiscreteGpu;
        for config in [
            RnnConfig::lstm(7, 90).with_bidirectional(true),
            RnnConfig::gru(7, 37).with_num_layers(2),
            RnnConfig::rnn(7, 130),
            RnnConfig::lstm(7, 90).with_proj_size(37).with_num_layers(2),
        ] {
            let model = Model::new(config.clone(), &mut rng).unwrap();
            let tiling = Tiling::for_device(&config, &info, ctx.limits(), PlanChoice::Sequence);
            let seq = tiling.sequence.expect("the sequence tiling fits");
            assert_eq!((seq.parallel, seq.slice_max), (None, 8), "{config}");
            let gpu_model = GpuModel::with_tiling(&model, ctx.clone(), tiling).unwrap();
            for (t, n) in [(9, 1), (17, 21)] {
                let x = tensor(&mut rng, &[t, n, 7], 1.5);
                let lengths: Vec<usize> = (0..n).map(|i| 1 + (i * 7) % t).collect();
                let args = ForwardInput::new(&x).with_lengths(&lengths);
                let plan = gpu_model.plan(t, n).unwrap();
                assert_eq!(plan.kind, PlanKind::Sequence);
                assert_close(
                    &gpu_model.forward(&args).unwrap(),
                    &model.forward_reference(&args).unwrap(),
                    &format!("{} {config} T={t} N={n}", backend.name),
                );
            }
        }
    }
}

/// The sequence kernels' workgroup memory (h double-buffered, plus u with an LSTM projection) fits
/// the device's limit for every tiling chosen, including projections with a wide hidden layer
/// (few rows per workgroup), and those still match the reference.
#[test]
fn the_sequence_tiling_fits_workgroup_memory() {
    let mut rng = StdRng::seed_from_u64(10);
    for backend in gpu::backends() {
        let ctx = &backend.context;
        let limit = ctx.limits().max_compute_workgroup_storage_size;
        for config in [
            RnnConfig::lstm(3, 8),
            RnnConfig::lstm(3, 300).with_proj_size(5),
            RnnConfig::lstm(3, 41).with_proj_size(40),
            RnnConfig::gru(3, 700),
            RnnConfig::rnn(3, 1000),
        ] {
            let tiling = Tiling::for_device(
                &config,
                ctx.adapter_info(),
                ctx.limits(),
                PlanChoice::Sequence,
            );
            let seq = tiling.sequence.expect("the sequence tiling fits");
            let bytes = 16 * (seq.hbuf(&config) + seq.ubuf(&config));
            assert!(bytes <= limit, "{config}: {bytes} bytes > {limit}");
            if config.proj_size > 0 {
                let model = Model::new(config.clone(), &mut rng).unwrap();
                let gpu_model = GpuModel::with_tiling(&model, ctx.clone(), tiling).unwrap();
                let (t, n) = (4, 5);
                let x = tensor(&mut rng, &[t, n, 3], 1.5);
                let args = ForwardInput::new(&x).with_lengths(&[4, 2, 3, 4, 1]);
                assert_eq!(gpu_model.plan(t, n).unwrap().kind, PlanKind::Sequence);
                assert_close(
                    &gpu_model.forward(&args).unwrap(),
                    &model.forward_reference(&args).unwrap(),
                    &format!("{} {config}", backend.name),
                );
            }
        }
    }
}
