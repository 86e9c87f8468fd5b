//! The GPU path under stress: several threads on one shared device, the same model from several
//! threads, and a device that is lost mid-life.

#[path = "common/gpu.rs"]
mod gpu;

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use wgpu_rnn::{Error, ForwardInput, ForwardOutput, GpuModel, Model, RnnConfig, Tensor};

fn random_input(rng: &mut impl Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape, (0..n).map(|_| rng.random_range(-2.0..2.0)).collect()).unwrap()
}

fn assert_close(got: &ForwardOutput, want: &ForwardOutput, what: &str) {
    let pairs = [(&got.output, &want.output), (&got.h_n, &want.h_n)];
    for (g, w) in pairs.into_iter().chain(got.c_n.iter().zip(want.c_n.iter())) {
        assert_eq!(g.shape(), w.shape(), "{what}");
        for (a, b) in g.data().iter().zip(w.data()) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{what}: {a} vs {b}"
            );
        }
    }
}

/// Four threads, each with its own model and inputs on one shared device, agree with the CPU; and
/// four threads calling one shared model agree with a call made alone.
#[test]
fn threads_sharing_a_device_or_a_model_get_the_answers_they_get_alone() {
    for backend in gpu::fresh_backends() {
        let name = backend.name.as_str();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let configs = [
            RnnConfig::lstm(7, 13).with_num_layers(2),
            RnnConfig::gru(5, 9).with_bidirectional(true),
            RnnConfig::rnn(3, 17),
            RnnConfig::lstm(6, 10).with_proj_size(4),
        ];
        let jobs: Vec<(Model, Tensor)> = configs
            .into_iter()
            .map(|c| {
                let model = Model::new(c, &mut rng).unwrap();
                let x = random_input(&mut rng, &[9, 3, model.config().input_size]);
                (model, x)
            })
            .collect();
        std::thread::scope(|s| {
            for (i, (model, x)) in jobs.iter().enumerate() {
                let context = Arc::clone(&backend.context);
                s.spawn(move || {
                    let gpu = GpuModel::new(model, context).unwrap();
                    let want = model.forward_reference(&ForwardInput::new(x)).unwrap();
                    for round in 0..5 {
                        let got = gpu.forward(&ForwardInput::new(x)).unwrap();
                        assert_close(&got, &want, &format!("{name} thread {i} round {round}"));
                    }
                });
            }
        });

        let (model, _) = &jobs[0];
        let shared = Arc::new(GpuModel::new(model, Arc::clone(&backend.context)).unwrap());
        let inputs: Vec<Tensor> = (0..4)
            .map(|i| random_input(&mut rng, &[5 + i, 2, model.config().input_size]))
            .collect();
        let alone: Vec<ForwardOutput> = inputs
            .iter()
            .map(|x| shared.forward(&ForwardInput::new(x)).unwrap())
            .collect();
        std::thread::scope(|s| {
            for (x, want) in inputs.iter().zip(&alone) {
                let shared = Arc::clone(&shared);
                s.spawn(move || {
                    for _ in 0..5 {
                        let got = shared.forward(&ForwardInput::new(x)).unwrap();
                        assert_eq!(&got, want, "{name}: shared model");
                    }
                });
            }
        });
    }
}

/// A destroyed device turns the next forward into an error, not a panic or a hang.
#[test]
fn a_lost_device_is_an_error_on_the_next_call() {
    for backend in gpu::fresh_backends() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let model = Model::new(RnnConfig::gru(4, 6), &mut rng).unwrap();
        let gpu = GpuModel::new(&model, Arc::clone(&backend.context)).unwrap();
        let x = random_input(&mut rng, &[3, 2, 4]);
        gpu.forward(&ForwardInput::new(&x)).unwrap();
        backend.context.device().destroy();
        match gpu.forward(&ForwardInput::new(&x)) {
            Err(Error::DeviceLost(message)) | Err(Error::Gpu { message, .. }) => {
                eprintln!("{}: after destroy: {message}", backend.name)
            }
            other => panic!(
                "{}: expected a device-lost error, got {other:?}",
                backend.name
            ),
        }
        // And it stays an error.
        assert!(gpu.forward(&ForwardInput::new(&x)).is_err());
        assert!(GpuModel::new(&model, Arc::clone(&backend.context)).is_err());
    }
}
