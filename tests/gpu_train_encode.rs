//! Training recorded into an application's encoder: `encode_forward`, `encode_backward` (with and
//! without accumulation), `encode_mse_backward` and `encode_optimizer_step` from GPU tensors to GPU
//! tensors give what the host calls give, and the library submits nothing itself.

#[path = "common/gpu.rs"]
mod gpu;

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wgpu_rnn::{
    Adam, ForwardInput, GpuContext, GpuForwardInput, GpuInputGrads, GpuOutputGrads, GpuTensor,
    GpuTrainer, Model, OutputGrads, RnnConfig, Tensor,
};

fn random(rng: &mut StdRng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape, (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()).unwrap()
}

fn upload(ctx: &Arc<GpuContext>, t: &Tensor) -> GpuTensor {
    GpuTensor::from_tensor(ctx, "test", t).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| (x as f64 - y as f64).abs() / (y as f64).abs().max(1.0))
        .fold(0.0, f64::max)
}

#[test]
fn encoded_backward_equals_the_host_backward_and_accumulates() {
    let config = RnnConfig::lstm(3, 7)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_proj_size(4);
    let mut rng = StdRng::seed_from_u64(11);
    let model = Model::new(config, &mut rng).unwrap();
    let (t, n) = (6, 3);
    let x = random(&mut rng, &[t, n, 3]);
    let h0 = random(&mut rng, &[4, n, 4]);
    let c0 = random(&mut rng, &[4, n, 7]);
    let g_out = random(&mut rng, &[t, n, 8]);
    let g_h = random(&mut rng, &[4, n, 4]);
    for backend in gpu::backends() {
        let ctx = &backend.context;
        let trainer = GpuTrainer::new(&model, ctx.clone()).unwrap();
        let args = ForwardInput::new(&x).with_h0(&h0).with_c0(&c0);
        let grads = OutputGrads::new(&g_out).with_grad_h_n(&g_h);
        let (want_out, want) = trainer.forward_backward(&args, &grads).unwrap();
        let want_params = trainer.read_grads().unwrap();

        let (gx, gh0, gc0) = (upload(ctx, &x), upload(ctx, &h0), upload(ctx, &c0));
        let (gg, ggh) = (upload(ctx, &g_out), upload(ctx, &g_h));
        let out = wgpu_rnn::GpuModel::new(&model, ctx.clone())
            .unwrap()
            .forward_output_for(x.shape())
            .unwrap();
        let zeros = |shape: &[usize]| GpuTensor::zeros(ctx, "test", shape.to_vec()).unwrap();
        let input_grads = GpuInputGrads {
            grad_input: Some(zeros(x.shape())),
            grad_h0: Some(zeros(h0.shape())),
            grad_c0: Some(zeros(c0.shape())),
        };
        let submissions = ctx.submission_count();
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        let fwd = GpuForwardInput::new(&gx).with_h0(&gh0).with_c0(&gc0);
        trainer.encode_forward(&mut encoder, &fwd, &out).unwrap();
        let og = GpuOutputGrads {
            grad_output: Some(&gg),
            grad_h_n: Some(&ggh),
            grad_c_n: None,
        };
        trainer
            .encode_backward(&mut encoder, &og, &input_grads, false)
            .unwrap();
        assert_eq!(
            ctx.submission_count(),
            submissions,
            "encoding submits nothing"
        );
        ctx.queue().submit([encoder.finish()]);
        let read = |t: &GpuTensor| t.read(ctx).unwrap();
        assert_eq!(read(&out.output), want_out.output, "{}", backend.name);
        assert_eq!(
            read(out.c_n.as_ref().unwrap()),
            *want_out.c_n.as_ref().unwrap()
        );
        assert_eq!(read(input_grads.grad_input.as_ref().unwrap()), want.input);
        assert_eq!(read(input_grads.grad_h0.as_ref().unwrap()), want.h0);
        assert_eq!(
            read(input_grads.grad_c0.as_ref().unwrap()),
            *want.c0.as_ref().unwrap()
        );
        assert_eq!(
            trainer.read_grads().unwrap(),
            want_params,
            "{}",
            backend.name
        );

        // A second backward of the same forward with accumulate doubles the parameter gradients.
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        trainer
            .encode_backward(&mut encoder, &og, &GpuInputGrads::default(), true)
            .unwrap();
        ctx.queue().submit([encoder.finish()]);
        for ((name, got), (_, once)) in trainer.read_grads().unwrap().iter().zip(&want_params) {
            let twice = Tensor::new(once.shape(), once.data().iter().map(|v| 2.0 * v).collect());
            assert!(
                max_diff(got, &twice.unwrap()) < 1e-6,
                "{name} on {}",
                backend.name
            );
        }
    }
}

#[test]
fn a_training_loop_in_the_apps_encoder_follows_the_host_loop() {
    let config = RnnConfig::gru(2, 5).with_num_layers(2);
    let mut rng = StdRng::seed_from_u64(5);
    let model = Model::new(config, &mut rng).unwrap();
    let (t, n) = (8, 4);
    let batches: Vec<(Tensor, Tensor)> = (0..5)
        .map(|_| (random(&mut rng, &[t, n, 2]), random(&mut rng, &[t, n, 5])))
        .collect();
    for backend in gpu::backends() {
        let ctx = &backend.context;
        let host = GpuTrainer::new(&model, ctx.clone()).unwrap();
        let app = GpuTrainer::new(&model, ctx.clone()).unwrap();
        for trainer in [&host, &app] {
            trainer.set_optimizer(Adam::new(1e-2), Some(0.5)).unwrap();
        }
        let out = wgpu_rnn::GpuModel::new(&model, ctx.clone())
            .unwrap()
            .forward_output_for(&[t, n, 2])
            .unwrap();
        let loss = GpuTensor::zeros(ctx, "loss", [1]).unwrap();
        for (x, target) in &batches {
            let host_loss = host.train_step(&ForwardInput::new(x), target).unwrap();
            let (gx, gt) = (upload(ctx, x), upload(ctx, target));
            let submissions = ctx.submission_count();
            let mut encoder = ctx.device().create_command_encoder(&Default::default());
            app.encode_forward(&mut encoder, &GpuForwardInput::new(&gx), &out)
                .unwrap();
            app.encode_mse_backward(&mut encoder, &gt, Some(&loss), false)
                .unwrap();
            app.encode_optimizer_step(&mut encoder).unwrap();
            assert_eq!(ctx.submission_count(), submissions);
            ctx.queue().submit([encoder.finish()]);
            let app_loss = loss.read(ctx).unwrap().data()[0] as f64;
            assert_eq!(app_loss, host_loss, "{}", backend.name);
        }
        assert_eq!(
            app.model().unwrap(),
            host.model().unwrap(),
            "{}",
            backend.name
        );
        assert_eq!(app.optimizer_state().unwrap().0, 5);
    }
}

#[test]
fn a_backward_without_a_forward_and_wrong_tensors_are_refused() {
    let model = Model::new(RnnConfig::rnn(2, 3), &mut StdRng::seed_from_u64(1)).unwrap();
    for backend in gpu::backends() {
        let ctx = &backend.context;
        let trainer = GpuTrainer::new(&model, ctx.clone()).unwrap();
        let mut encoder = ctx.device().create_command_encoder(&Default::default());
        let err = trainer
            .encode_backward(
                &mut encoder,
                &GpuOutputGrads::default(),
                &GpuInputGrads::default(),
                false,
            )
            .unwrap_err();
        assert!(err.to_string().contains("encode_forward first"), "{err}");
        let x = GpuTensor::zeros(ctx, "x", [4, 2, 2]).unwrap();
        let out = wgpu_rnn::GpuModel::new(&model, ctx.clone())
            .unwrap()
            .forward_output_for(&[4, 2, 2])
            .unwrap();
        trainer
            .encode_forward(&mut encoder, &GpuForwardInput::new(&x), &out)
            .unwrap();
        let wrong = GpuTensor::zeros(ctx, "g", [4, 2, 4]).unwrap();
        let grads = GpuOutputGrads {
            grad_output: Some(&wrong),
            ..GpuOutputGrads::default()
        };
        let err = trainer
            .encode_backward(&mut encoder, &grads, &GpuInputGrads::default(), false)
            .unwrap_err();
        assert!(err.to_string().contains("grad_output"), "{err}");
        let c = GpuTensor::zeros(ctx, "c", [1, 2, 3]).unwrap();
        let grads = GpuOutputGrads {
            grad_c_n: Some(&c),
            ..GpuOutputGrads::default()
        };
        let err = trainer
            .encode_backward(&mut encoder, &grads, &GpuInputGrads::default(), false)
            .unwrap_err();
        assert!(err.to_string().contains("grad_c_n"), "{err}");
    }
}

/// A stream training with truncated BPTT (window 5, every 2 frames) follows the same procedure
/// simulated on the f64 reference: each window trained from the state the previous window's
/// forward reached `stride` frames in, with SGD.
#[test]
fn truncated_bptt_follows_the_reference_simulation() {
    let config = RnnConfig::lstm(2, 6).with_num_layers(2);
    let mut rng = StdRng::seed_from_u64(9);
    let model = Model::new(config, &mut rng).unwrap();
    let (n, window, stride, frames) = (3, 5, 2, 13);
    let xs: Vec<Tensor> = (0..frames).map(|_| random(&mut rng, &[1, n, 2])).collect();
    let ys: Vec<Tensor> = (0..frames).map(|_| random(&mut rng, &[1, n, 6])).collect();
    let sgd = wgpu_rnn::Sgd::new(0.3).with_momentum(0.5);

    // The reference simulation.
    let mut reference = model.clone();
    let mut opt = wgpu_rnn::ReferenceOptimizer::new(sgd).unwrap();
    let mut h0 = Tensor::zeros([2, n, 6]);
    let mut c0 = Tensor::zeros([2, n, 6]);
    let mut trained = Vec::new();
    let window_of = |v: &[Tensor], end: usize, len: usize| {
        let data = v[end - len..end]
            .iter()
            .flat_map(|t| t.data().to_vec())
            .collect();
        Tensor::new([len, n, v[0].shape()[2]], data).unwrap()
    };
    for end in 1..=frames {
        if end < window || (end - window) % stride != 0 {
            continue;
        }
        let (x, y) = (window_of(&xs, end, window), window_of(&ys, end, window));
        let args = ForwardInput::new(&x).with_h0(&h0).with_c0(&c0);
        let out = reference.forward_reference(&args).unwrap();
        let (loss, g) = wgpu_rnn::loss::mse_loss(&out.output, &y).unwrap();
        trained.push(loss);
        // The next start state: `stride` frames into this window, with these weights.
        let first = window_of(&xs, end - window + stride, stride);
        let ahead = reference
            .forward_reference(&ForwardInput::new(&first).with_h0(&h0).with_c0(&c0))
            .unwrap();
        let (_, grads) = reference
            .backward_reference(&args, &OutputGrads::new(&g))
            .unwrap();
        opt.step(&mut reference, &grads);
        (h0, c0) = (ahead.h_n, ahead.c_n.unwrap());
    }
    assert_eq!(trained.len(), 5);

    for backend in gpu::backends() {
        let ctx = &backend.context;
        let trainer = Arc::new(GpuTrainer::new(&model, ctx.clone()).unwrap());
        trainer.set_optimizer(sgd, None).unwrap();
        let mut stream = wgpu_rnn::GpuTbptt::new(trainer.clone(), n, window, stride).unwrap();
        let mut losses = Vec::new();
        for (x, y) in xs.iter().zip(&ys) {
            let mut encoder = ctx.device().create_command_encoder(&Default::default());
            let trains = stream
                .encode_frame(&mut encoder, &upload(ctx, x), &upload(ctx, y))
                .unwrap();
            ctx.queue().submit([encoder.finish()]);
            if trains {
                losses.push(stream.loss().read(ctx).unwrap().data()[0] as f64);
            }
        }
        assert_eq!(losses.len(), trained.len(), "{}", backend.name);
        for (got, want) in losses.iter().zip(&trained) {
            assert!(
                (got - want).abs() < 1e-5,
                "{}: loss {got} vs {want}",
                backend.name
            );
        }
        let got = trainer.model().unwrap();
        for ((name, g), (_, w)) in got.state_dict().iter().zip(reference.state_dict()) {
            assert!(
                max_diff(g, w) < 1e-5,
                "{name} on {}: {}",
                backend.name,
                max_diff(g, w)
            );
        }
        let (h, c) = stream.state();
        assert!(max_diff(&h.read(ctx).unwrap(), &h0) < 1e-5);
        assert!(max_diff(&c.unwrap().read(ctx).unwrap(), &c0) < 1e-5);
    }
    let bidir = Model::new(RnnConfig::gru(2, 3).with_bidirectional(true), &mut rng).unwrap();
    let ctx = gpu::backends()[0].context.clone();
    let trainer = Arc::new(GpuTrainer::new(&bidir, ctx).unwrap());
    assert!(matches!(
        wgpu_rnn::GpuTbptt::new(trainer, 1, 4, 1),
        Err(wgpu_rnn::Error::CannotStream { .. })
    ));
}
