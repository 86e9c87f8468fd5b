//! Real sizes past the device's binding limit: an input projection larger than
//! `max_storage_buffer_binding_size` runs in chunks of time steps and still equals the CPU
//! reference; an output that cannot be split is refused up front with the figure.

#[path = "common/gpu.rs"]
mod gpu;

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use wgpu_rnn::{Error, ForwardInput, GpuModel, Model, RnnConfig, Tensor};

#[test]
fn an_input_projection_beyond_the_binding_limit_runs_in_chunks() {
    // LSTM(3, 40): the projection for all steps is T·N·4H·4 bytes = 1100·200·160·4 ≈ 141 MB,
    // over lavapipe's and llvmpipe's 128 MiB; the output (T, N, H) is 35 MB.
    let (t, n, i) = (1100, 200, 3);
    let config = RnnConfig::lstm(i, 40);
    let mut rng = rand::rngs::StdRng::seed_from_u64(21);
    let model = Model::new(config, &mut rng).unwrap();
    let x = Tensor::new(
        [t, n, i],
        (0..t * n * i)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect(),
    )
    .unwrap();
    let want = model.forward_reference(&ForwardInput::new(&x)).unwrap();
    for backend in gpu::fresh_backends() {
        let limit = backend.context.limits().max_storage_buffer_binding_size;
        let projection_bytes = (t * n * 4 * 40 * 4) as u64;
        assert!(
            projection_bytes > limit,
            "{}: limit {limit} no longer below {projection_bytes}; grow the test",
            backend.name
        );
        let gpu = GpuModel::new(&model, Arc::clone(&backend.context)).unwrap();
        let got = gpu.forward(&ForwardInput::new(&x)).unwrap();
        for (name, g, w) in [
            ("output", &got.output, &want.output),
            ("h_n", &got.h_n, &want.h_n),
            ("c_n", got.c_n.as_ref().unwrap(), want.c_n.as_ref().unwrap()),
        ] {
            let worst = g
                .data()
                .iter()
                .zip(w.data())
                .map(|(a, b)| ((a - b).abs() / b.abs().max(1.0)) as f64)
                .fold(0f64, f64::max);
            assert!(worst <= 1e-5, "{} {name}: error {worst:e}", backend.name);
        }
        eprintln!(
            "{}: projection of {projection_bytes} bytes over a {limit}-byte binding limit matched the CPU",
            backend.name
        );
    }
}

#[test]
fn an_output_beyond_the_binding_limit_is_refused_with_the_figure() {
    // GRU(1, 512) on T=300, N=256: the output alone is 300·256·512·4 ≈ 157 MB.
    let config = RnnConfig::gru(1, 512);
    let mut rng = rand::rngs::StdRng::seed_from_u64(22);
    let model = Model::new(config, &mut rng).unwrap();
    let x = Tensor::zeros([300, 256, 1]);
    for backend in gpu::fresh_backends() {
        let gpu = GpuModel::new(&model, Arc::clone(&backend.context)).unwrap();
        let buffers_before = backend.context.buffer_count();
        match gpu.forward(&ForwardInput::new(&x)) {
            Err(e @ Error::TooLarge { .. }) => {
                let message = e.to_string();
                assert!(message.contains("157286400"), "{}: {message}", backend.name);
                assert!(!message.contains('\n'));
            }
            other => panic!("{}: expected TooLarge, got {other:?}", backend.name),
        }
        assert_eq!(
            backend.context.buffer_count(),
            buffers_before,
            "{}: refused after allocating",
            backend.name
        );
        // The model still works on a shape that fits.
        let small = Tensor::zeros([3, 2, 1]);
        gpu.forward(&ForwardInput::new(&small)).unwrap();
    }
}
