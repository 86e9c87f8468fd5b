//! Soak: a streaming LSTM stepped 100 000 times (in calls of varying length, as a game's frames
//! would) keeps host memory and the counts of GPU buffers, bind groups and pipelines flat, and its
//! state still equals the f64 CPU reference over the same 100 000 inputs: no drift beyond f32
//! rounding.

#[path = "common/gpu.rs"]
mod gpu;

use std::sync::Arc;

use rand::SeedableRng;
use wgpu_rnn::{ForwardInput, GpuModel, GpuReadback, GpuStream, Model, RnnConfig, Tensor};

const STEPS: usize = 100_000;
const BATCH: usize = 2;
const MAX_CHUNK: usize = 64;

/// Resident memory of this process (Linux `VmRSS`), in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[test]
fn a_stream_stepped_100k_times_stays_flat_and_exact() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(41);
    let model = Model::new(RnnConfig::lstm(3, 9), &mut rng).unwrap();
    // A signal with structure and no period: sines of incommensurate frequencies.
    let x: Vec<f32> = (0..STEPS * BATCH * 3)
        .map(|k| {
            let (t, f) = ((k / 3) as f32, (k % 3 + 1) as f32);
            (t * 0.013 * f).sin() + 0.5 * (t * 0.0071 * f * std::f32::consts::SQRT_2).cos()
        })
        .collect();
    let x_all = Tensor::new([STEPS, BATCH, 3], x.clone()).unwrap();
    let want = model.forward_reference(&ForwardInput::new(&x_all)).unwrap();
    let h_ref = |t: usize| &want.output.data()[t * BATCH * 9..(t + 1) * BATCH * 9];

    for backend in gpu::fresh_backends() {
        let ctx = Arc::clone(&backend.context);
        let gpu_model = Arc::new(GpuModel::new(&model, Arc::clone(&ctx)).unwrap());
        let mut stream = GpuStream::new(gpu_model, BATCH, MAX_CHUNK).unwrap();
        // Call lengths cycle through these; they sum to 200, so 100 000 steps end on a full cycle.
        let chunk_sizes = [1, 7, 64, 33, 50, 45];
        assert_eq!(STEPS % chunk_sizes.iter().sum::<usize>(), 0);
        // Reads go through preallocated slots, as a frame loop's would.
        let read_h = GpuReadback::new(&ctx, BATCH * 9).unwrap();
        let read_c = GpuReadback::new(&ctx, BATCH * 9).unwrap();
        for &s in &chunk_sizes {
            stream.prepare(s).unwrap();
        }
        let mut counts = None;
        let mut rss_after_warmup = 0;
        let (mut t, mut call) = (0usize, 0usize);
        let mut worst = 0f64;
        while t < STEPS {
            let steps = chunk_sizes[call % chunk_sizes.len()];
            let chunk = &x[t * BATCH * 3..(t + steps) * BATCH * 3];
            ctx.queue()
                .write_buffer(stream.input().buffer(), 0, bytemuck::cast_slice(chunk));
            let mut encoder = ctx.device().create_command_encoder(&Default::default());
            stream
                .encode_step_in_place(&mut encoder, steps, None)
                .unwrap();
            t += steps;
            call += 1;
            let check = call % 200 == 0 || t == STEPS;
            let reads = check.then(|| {
                let h = read_h.encode(&mut encoder, stream.h()).unwrap();
                let c = read_c.encode(&mut encoder, stream.c().unwrap()).unwrap();
                (h, c)
            });
            ctx.queue().submit([encoder.finish()]);
            if let Some((h, c)) = reads {
                // Wait here and compare with the reference at this step.
                let (h, c) = (h.wait().unwrap(), c.wait().unwrap());
                for (g, w) in h.data().iter().zip(h_ref(t - 1)) {
                    worst = worst.max(((g - w).abs() / w.abs().max(1.0)) as f64);
                }
                if t == STEPS {
                    let c_want = want.c_n.as_ref().unwrap().data();
                    for (g, w) in c.data().iter().zip(c_want) {
                        worst = worst.max(((g - w).abs() / w.abs().max(1.0)) as f64);
                    }
                }
            }
            if call == 400 {
                counts = Some((
                    ctx.buffer_count(),
                    ctx.bind_group_count(),
                    ctx.pipeline_count(),
                ));
                rss_after_warmup = rss_bytes();
            }
        }
        let end_counts = (
            ctx.buffer_count(),
            ctx.bind_group_count(),
            ctx.pipeline_count(),
        );
        let rss_growth = rss_bytes().saturating_sub(rss_after_warmup);
        eprintln!(
            "{}: {STEPS} steps in {call} calls; worst error vs CPU {worst:.2e}; buffers/bind \
             groups/pipelines {end_counts:?} (after warm-up {:?}); RSS grew {} KiB after warm-up",
            backend.name,
            counts.unwrap(),
            rss_growth / 1024
        );
        assert_eq!(stream.steps_taken(), STEPS as u64);
        assert_eq!(
            Some(end_counts),
            counts,
            "{}: GPU objects created",
            backend.name
        );
        assert!(
            rss_growth < 8 << 20,
            "{}: RSS grew {rss_growth} bytes",
            backend.name
        );
        assert!(worst <= 1e-5, "{}: drifted {worst:e}", backend.name);
    }
}
