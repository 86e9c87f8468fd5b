//! `wgpu-rnn bench --train`: times whole training steps (the forward, the MSE loss against a random
//! target, the backward and an Adam step; host input in, the loss back) after warm-up, on the GPU
//! (`GpuTrainer::train_step`, one submit) or the f64 reference. GFLOP/s count a training step as
//! three forwards (the forward, then the backward's input-side and weight-side products).

use std::sync::Arc;

use wgpu_rnn::bench::{Timings, forward_flops, host_peak_bytes};
use wgpu_rnn::{
    Adam, Error, ForwardInput, GpuTrainer, Model, OutputGrads, ReferenceOptimizer, RnnConfig,
    Tensor,
};

use crate::device::DeviceChoice;

/// What a training benchmark measured.
pub struct TrainBench {
    /// The device, in words.
    pub describe: String,
    /// "gpu" or "reference".
    pub device: &'static str,
    /// The timed steps.
    pub timings: Timings,
    /// GFLOP/s at the median step.
    pub gflops: f64,
    /// GPU bytes (parameters, gradients, Adam's state, the call shape's buffers).
    pub gpu_bytes: Option<u64>,
    /// Host peak memory.
    pub host_peak: Option<u64>,
}

/// Times `iters` training steps of `model` on `x` (T, N, I) after `warmup` untimed ones.
pub fn measure(
    choice: DeviceChoice,
    model: &Model,
    x: &Tensor,
    target: &Tensor,
    warmup: usize,
    iters: usize,
) -> Result<TrainBench, Error> {
    let config: &RnnConfig = model.config();
    let args = ForwardInput::new(x);
    let adam = Adam::new(1e-3);
    let (describe, device, timings, gpu_bytes) = match crate::device::backward_device(choice)? {
        Some(context) => {
            let info = context.adapter_info();
            let describe = format!("{} ({:?})", info.name, info.backend);
            let trainer = GpuTrainer::new(model, Arc::new(context))?;
            trainer.set_optimizer(adam, None)?;
            let timings = Timings::measure(warmup, iters, || {
                trainer.train_step(&args, target).map(drop)
            })?;
            (describe, "gpu", timings, Some(trainer.gpu_buffer_bytes()))
        }
        None => {
            let mut model = model.clone();
            let mut opt = ReferenceOptimizer::new(adam)?;
            let timings = Timings::measure(warmup, iters, || {
                let out = model.forward_reference(&args)?;
                let (_, g) = wgpu_rnn::loss::mse_loss(&out.output, target)?;
                let (_, grads) = model.backward_reference(&args, &OutputGrads::new(&g))?;
                opt.step(&mut model, &grads);
                Ok::<(), Error>(())
            })?;
            ("the reference (f64 CPU)".into(), "reference", timings, None)
        }
    };
    let shape = x.shape();
    let flops = 3.0 * forward_flops(config, shape[0], shape[1]);
    Ok(TrainBench {
        describe,
        device,
        gflops: flops / (timings.median_ms() * 1e6),
        timings,
        gpu_bytes,
        host_peak: host_peak_bytes(),
    })
}
