//! Training on the GPU: the backward through time of every module and the optimizers, as WGSL
//! kernels (`shaders/train/`).
//!
//! - [`layout`]: the parameters, their gradients and the optimizer state as flat buffers in
//!   `state_dict` order.
//! - [`kernels`]: the training kernels and their bindings; [`uniforms`]: what they read.
//! - [`gemms`]: the GEMMs over all steps (input projection, weight and input gradients).
//! - [`plan`]: a training forward (saving what the backward needs) and its backward, as data.
//! - [`trainer`]: [`GpuTrainer`], the model's parameters on the GPU and one-submit
//!   forward + backward.
//! - [`encode`]: the same training step recorded into an application's encoder, GPU tensors in
//!   and out.
//! - [`optimizer`]: SGD, Adam and AdamW steps (with clip_grad_norm_) in place on the GPU.
//! - [`tbptt`]: [`GpuTbptt`], a stream that trains with truncated BPTT over its last K frames.
//! - `shape`: the buffers and bind groups of one call shape.

pub mod encode;
pub mod gemms;
pub mod kernels;
pub mod layout;
pub mod optimizer;
pub mod plan;
mod shape;
pub mod tbptt;
pub mod trainer;
pub mod uniforms;

pub use encode::{GpuInputGrads, GpuOutputGrads};
pub use layout::ParamLayout;
pub use tbptt::GpuTbptt;
pub use trainer::GpuTrainer;
