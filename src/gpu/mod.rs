//! The GPU path: PyTorch's recurrent modules as WGSL compute kernels on any adapter wgpu reaches
//! (Vulkan, Metal, DX12, GL), with the CPU reference's shapes, validation and (to f32 rounding)
//! numbers.
//!
//! - [`adapter`]: the adapter wgpu's environment variables select, every misconfiguration a
//!   typed error.
//! - [`context`]: [`GpuContext`], the device (created from wgpu's environment variables or wrapped).
//! - [`kernels`]: the `shaders/*.wgsl` kernels, their bindings and pipelines.
//! - [`plan`]: a forward pass as a list of dispatches, built from the configuration and call shape.
//! - [`model`]: [`GpuModel`], weights uploaded once, buffers cached per call shape, one submit per
//!   forward.
//! - [`tensor`]: [`GpuTensor`], a shape over an application's (or the library's) `wgpu::Buffer`.
//! - [`encode`]: [`GpuModel::encode_forward`], a whole forward recorded into the application's
//!   command encoder, GPU tensors in and out.
//! - [`stream`]: [`GpuStream`], state kept on the GPU and stepped once (or a chunk) per call.
//! - [`readback`]: [`GpuReadback`] and its future [`GpuRead`], readback without blocking a frame.
//! - [`train`]: [`GpuTrainer`], the backward and the optimizers on the GPU.
//! - `workspace`: the buffers and per-step-count programs behind `encode` and `stream`.

pub mod adapter;
pub mod context;
pub mod encode;
pub mod kernels;
pub mod model;
pub mod plan;
pub mod readback;
pub mod stream;
pub mod tensor;
pub mod train;
mod workspace;

pub use context::GpuContext;
pub use encode::{GpuForwardInput, GpuForwardOutput};
pub use model::GpuModel;
pub use readback::{GpuRead, GpuReadback};
pub use stream::GpuStream;
pub use tensor::GpuTensor;
pub use train::{GpuInputGrads, GpuOutputGrads, GpuTbptt, GpuTrainer};
