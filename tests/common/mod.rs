//! Helpers shared by the integration tests.

pub mod bad_files;
pub mod cli;
pub mod fixtures;
pub mod onnx_fixtures;
pub mod outputs;
