//! The GPU path: PyTorch's recurrent modules as WGSL compute kernels on any adapter wgpu reaches
//! (Vulkan, Metal, DX12, GL), with the CPU reference's shapes, validation and (to f32 rounding)
//! numbers.
//!
//! - [`context`]: [`GpuContext`], the device (created from wgpu's environment variables or wrapped).
//! - [`kernels`]: the `shaders/*.wgsl` kernels, their bindings and pipelines.
//! - [`plan`]: a forward pass as a list of dispatches, built from the configuration and call shape.
//! - [`model`]: [`GpuModel`], weights uploaded once, buffers cached per call shape, one submit per
//!   forward.

pub mod context;
pub mod kernels;
pub mod model;
pub mod plan;

pub use context::GpuContext;
pub use model::GpuModel;
