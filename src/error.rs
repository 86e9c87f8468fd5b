//! The one error type of the library: every way a configuration, a file, an input or a device can be
//! refused, each with a message a user can act on.

use std::path::PathBuf;

/// Everything the library can refuse. Each message is one line that says what was wrong and what was
/// expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A constructor argument PyTorch would refuse (zero sizes, proj_size >= hidden_size, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// An output file cannot be written there (no such directory, a directory, no permission);
    /// found before any computation.
    #[error("cannot write {}: {reason}", path.display())]
    CannotWrite {
        /// The output path given.
        path: PathBuf,
        /// Why, e.g. "its directory out/ does not exist".
        reason: String,
    },

    /// A file is not a readable safetensors file (empty, truncated, garbage, absurd header).
    #[error("{}: not a valid safetensors file ({reason})", path.display())]
    BadFile {
        /// The file concerned.
        path: PathBuf,
        /// What the parser found wrong.
        reason: String,
    },

    /// A file given as a model or input file is a PyTorch checkpoint (`torch.save`), not
    /// safetensors.
    #[error(
        "{}: this looks like a PyTorch checkpoint (torch.save), not a safetensors file; export it with `python scripts/export_model.py {} OUT.safetensors` (add `--prefix rnn.` when the recurrent module is the submodule rnn)",
        path.display(), path.display()
    )]
    PyTorchFile {
        /// The file concerned.
        path: PathBuf,
    },

    /// A tensor the file or call must provide is absent.
    #[error("missing tensor '{name}'{context}")]
    MissingTensor {
        /// Its name, e.g. `weight_hh_l1` or `input`.
        name: String,
        /// Where it was expected, e.g. " in model file m.safetensors".
        context: String,
    },

    /// A tensor is present but the library does not know what to do with it.
    #[error("unexpected tensor '{name}'{context}; expected {expected}")]
    UnexpectedTensor {
        /// Its name.
        name: String,
        /// Where it was found.
        context: String,
        /// The names that are accepted there.
        expected: String,
    },

    /// A tensor has a shape other than the one required.
    #[error("'{name}' has shape {actual:?} but {expected}")]
    ShapeMismatch {
        /// The tensor's name, e.g. `h0`.
        name: String,
        /// Its shape.
        actual: Vec<usize>,
        /// The shape (or rule) required, e.g. "the model expects [2, 3, 7] (num_layers*num_directions, batch, hidden_size)".
        expected: String,
    },

    /// A tensor has an element type the library does not accept there.
    #[error("'{name}' has dtype {dtype} but {expected}")]
    BadDtype {
        /// The tensor's name.
        name: String,
        /// Its dtype as the file names it.
        dtype: String,
        /// The accepted dtypes.
        expected: String,
    },

    /// An LSTM's initial state given by halves: PyTorch takes `(h0, c0)` together or neither.
    #[error(
        "'{given}' given without '{missing}': {model} takes its initial state as (h0, c0) together or neither; give {missing} too (zeros for PyTorch's default) or drop {given}"
    )]
    IncompleteState {
        /// The half given, `h0` or `c0`.
        given: String,
        /// The half missing.
        missing: String,
        /// The model, e.g. "LSTM(3, 4)".
        model: String,
    },

    /// A per-row sequence length is zero, negative or longer than the sequence.
    /// A per-row sequence length is below the least allowed (1 for PyTorch's packed sequences,
    /// 0 for ONNX's `sequence_lens`), negative or longer than the sequence.
    #[error(
        "lengths[{index}] = {value} is invalid: each length must be in {min}..={max} (the sequence length)"
    )]
    BadLength {
        /// The batch row.
        index: usize,
        /// The length given.
        value: i64,
        /// The least length allowed.
        min: usize,
        /// The sequence length T.
        max: usize,
    },

    /// A per-row sequence length read from a file is zero or negative.
    #[error("lengths[{index}] = {value} is invalid: every length must be at least 1")]
    NonPositiveLength {
        /// The batch row.
        index: usize,
        /// The length given.
        value: i64,
    },

    /// A metadata entry of a model file cannot be parsed or contradicts the tensors.
    #[error("model metadata '{key}' = '{value}': {reason}")]
    BadMetadata {
        /// The metadata key.
        key: String,
        /// Its value.
        value: String,
        /// Why it was refused.
        reason: String,
    },

    /// A size computation would exceed what can be allocated or addressed.
    #[error("{what} needs {bytes} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// What would be allocated.
        what: String,
        /// The bytes it would need.
        bytes: u128,
        /// The limit it exceeds.
        limit: u128,
    },

    /// One of wgpu's environment variables (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
    /// `WGPU_POWER_PREF`) asks for something no adapter or backend here has.
    #[error("{variable}={value}: {reason}")]
    BadEnvironment {
        /// The variable, e.g. `WGPU_ADAPTER_NAME`.
        variable: String,
        /// Its value.
        value: String,
        /// What is wrong with it and what there is instead.
        reason: String,
    },

    /// A file is not a readable ONNX model (not protobuf, no graph, a malformed tensor, a name
    /// nothing produces).
    #[error("{}: not a valid ONNX model ({reason})", path.display())]
    BadOnnx {
        /// The file concerned.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },

    /// An ONNX node uses an operator, attribute value or input wgpu-rnn does not run, or failed
    /// on the values it was given.
    #[error("ONNX node {index} '{node}' ({op}): {reason}")]
    OnnxNode {
        /// The operator, e.g. `LSTM` or `Softmax`.
        op: String,
        /// The node's name.
        node: String,
        /// Its position among the graph's nodes (0-based).
        index: usize,
        /// What is unsupported or wrong, and what is supported.
        reason: String,
    },

    /// A valid model or request that this path does not compute (yet), e.g. semantics beyond
    /// PyTorch's on a path that does not implement them.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// The requested device is not available.
    #[error("device unavailable: {0}")]
    DeviceUnavailable(String),

    /// The GPU device was lost (driver reset, device removed or destroyed); build a new context.
    #[error("GPU device lost: {0}")]
    DeviceLost(String),

    /// The GPU ran out of memory while creating or running something.
    #[error("GPU out of memory during {context}: {message}")]
    GpuOutOfMemory {
        /// What was being done, e.g. "the forward of LSTM(5, 7)".
        context: String,
        /// wgpu's message.
        message: String,
    },

    /// wgpu refused an operation or a shader failed: a device limit this library did not check,
    /// or a bug in it. Please report it with the message.
    #[error("GPU error during {context}: {message}")]
    Gpu {
        /// What was being done.
        context: String,
        /// wgpu's message.
        message: String,
    },

    /// The model cannot run as a stream (one step at a time with state kept on the GPU).
    #[error("{model} cannot stream: {reason}")]
    CannotStream {
        /// The model, e.g. "LSTM(5, 7, bidirectional=True)".
        model: String,
        /// Why, and what to do instead.
        reason: String,
    },

    /// A GPU buffer handed to the library lacks a usage flag, is misaligned or is too small.
    #[error("GPU tensor '{name}': {reason}")]
    BadBuffer {
        /// The argument, e.g. `input` or `h0`.
        name: String,
        /// What is wrong and what is needed.
        reason: String,
    },

    /// A readback slot is still busy with an earlier read.
    #[error(
        "the readback buffer is still in use by an earlier read: wait for it (poll the device) or use another GpuReadback"
    )]
    ReadbackBusy,

    /// The CLI refuses to overwrite one of its own inputs.
    #[error("refusing to write {}: it is one of this command's inputs", path.display())]
    OutputIsInput {
        /// The output path given.
        path: PathBuf,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
