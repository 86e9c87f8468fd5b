//! wgpu-rnn: PyTorch's recurrent networks — `RNN` (tanh or relu), `LSTM` (with optional
//! projection), `GRU` and the three cells — with PyTorch's names, shapes and numbers.
//!
//! - [`RnnConfig`]: the constructor arguments, validated as PyTorch validates them.
//! - [`Model`]: a configuration with its parameters; [`Model::load`] / [`Model::save`] read and
//!   write safetensors model files (see [`model_file`]).
//! - [`reference`](mod@reference): the f64 reference forward, the yardstick for every other path;
//!   [`reference_backward`] its backward ([`Model::backward_reference`]), gradients as
//!   [`Gradients`].
//! - [`cpu`]: the fast f32 CPU path ([`CpuModel`]), for machines without a GPU.
//! - [`gpu`]: the same forward as WGSL kernels through wgpu ([`GpuContext`], [`GpuModel`]).
//!
//! The crate re-exports the [`wgpu`] and [`rand`] it is built with, so an application needs no
//! version of its own that might not match (`cargo add rand` brings rand 0.10, whose generators
//! [`Model::new`] does not take): `wgpu_rnn::wgpu::Device`, `wgpu_rnn::rand::rngs::StdRng`, or
//! [`Model::new_seeded`].
//!
//! ```
//! use wgpu_rnn::{ForwardInput, Model, RnnConfig, Tensor};
//!
//! let lstm = Model::new_seeded(RnnConfig::lstm(5, 7), 0)?;
//! let x = Tensor::new([3, 2, 5], vec![0.5; 30])?; // (T, N, I)
//! let out = lstm.forward_reference(&ForwardInput::new(&x))?;
//! assert_eq!(out.output.shape(), &[3, 2, 7]); // (T, N, H)
//! assert_eq!(out.h_n.shape(), &[1, 2, 7]); // (D·L, N, H)
//! # Ok::<(), wgpu_rnn::Error>(())
//! ```

pub use rand;
pub use wgpu;

pub mod activation;
pub mod backward;
// Wall-clock timing (`std::time::Instant` panics in the browser): native only.
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod config;
pub mod cpu;
pub mod error;
mod file;
pub mod forward;
pub mod gpu;
pub mod inspect;
pub mod io_file;
pub mod loss;
pub mod model;
pub mod model_file;
pub mod model_load;
pub mod onnx;
pub mod optim;
pub mod reference;
pub mod reference_backward;
pub mod tensor;

pub use activation::{Activation, Activations};
pub use backward::{Gradients, OutputGrads};
pub use config::{Family, LengthRule, ModuleKind, Nonlinearity, RnnConfig};
pub use cpu::CpuModel;
pub use error::{Error, Result};
pub use forward::{ForwardInput, ForwardOutput};
pub use gpu::{
    GpuContext, GpuForwardInput, GpuForwardOutput, GpuInputGrads, GpuModel, GpuOutputGrads,
    GpuRead, GpuReadback, GpuStream, GpuTbptt, GpuTensor, GpuTrainer,
};
pub use io_file::{GradFile, InputFile};
pub use model::{LayerParams, Model};
pub use model_load::{Assumed, LoadOptions, LoadReport};
pub use optim::{Adam, Optimizer, ReferenceOptimizer, Sgd};
pub use tensor::Tensor;

/// The README's Rust snippets, compiled and run as doctests so that what the README shows works.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeSnippets;
