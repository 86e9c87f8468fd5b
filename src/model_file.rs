//! Model files: safetensors holding a module's `state_dict`, with optional string metadata
//! (`module`, `input_size`, `hidden_size`, `num_layers`, `bias`, `batch_first`, `bidirectional`,
//! `proj_size`, `nonlinearity`, `dropout`).
//!
//! A file without metadata, as `safetensors.torch.save_file(model.state_dict(), path)` writes it,
//! still loads: the tensor names and shapes determine the kind, sizes, layers, directions, bias and
//! projection; `nonlinearity` defaults to tanh and `batch_first` to false, and
//! [`Model::load_with`] reports each default it assumed ([`LoadReport`]). Metadata that
//! contradicts the tensors is refused. A whole model's checkpoint loads with a key prefix
//! ([`LoadOptions::prefix`], e.g. `rnn.`).

use std::collections::HashMap;
use std::path::Path;

use crate::config::{ModuleKind, Nonlinearity, RnnConfig};
use crate::error::{Error, Result};
use crate::file::{TensorFile, write_atomic};
use crate::model::Model;
use crate::model_load::{LoadOptions, LoadReport, hint_prefixed_twins, take_prefixed};
use crate::tensor::Tensor;

impl Model {
    /// Loads a model file (see the module docs). Tensors may be F32, F64, F16 or BF16. Settings
    /// the file does not state are PyTorch's defaults, silently: [`Model::load_with`] reports
    /// them. An ONNX model (a `.onnx` file, or one holding an ONNX protobuf) is read with
    /// [`OnnxModel::load`](crate::onnx::OnnxModel::load) and made one model by
    /// [`OnnxModel::to_model`](crate::onnx::OnnxModel::to_model).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, &LoadOptions::default()).map(|(model, _)| model)
    }

    /// Loads a model file as `options` say (a key prefix), and reports what the file did not
    /// state: [`LoadReport::notice`] is one line naming each assumed default, for the caller to
    /// show.
    ///
    /// ```
    /// use wgpu_rnn::{LoadOptions, Model};
    ///
    /// // A bare `save_file(rnn.state_dict())`: the tensors give the sizes, not the nonlinearity.
    /// let (model, report) = Model::load_with(
    ///     "tests/fixtures/rnn_nometa.model.safetensors",
    ///     &LoadOptions::default(),
    /// )?;
    /// assert_eq!(model.to_string(), "RNN(4, 6, num_layers=2, bidirectional=True)");
    /// assert_eq!(
    ///     report.notice().as_deref(),
    ///     Some("nonlinearity=tanh, batch_first=false assumed: the file has no metadata")
    /// );
    /// # Ok::<(), wgpu_rnn::Error>(())
    /// ```
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<(Self, LoadReport)> {
        let path = path.as_ref();
        let onnx_name = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if onnx_name || crate::onnx::looks_like_onnx(&bytes) {
            if !options.prefix.is_empty() {
                return Err(Error::Unsupported(format!(
                    "the key prefix '{}' with the ONNX model {}: prefixes select the tensors of a safetensors checkpoint",
                    options.prefix,
                    path.display()
                )));
            }
            let model = crate::onnx::OnnxModel::from_bytes(&bytes, path)?.to_model()?;
            return Ok((model, LoadReport::default()));
        }
        Self::from_file(TensorFile::parse(path, &bytes)?, options)
    }

    /// Loads a model from the bytes of a model file; `name` only labels errors.
    pub fn from_safetensors_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        Self::from_safetensors_bytes_with(bytes, name, &LoadOptions::default()).map(|(m, _)| m)
    }

    /// [`Model::from_safetensors_bytes`] with options and a report, as [`Model::load_with`].
    pub fn from_safetensors_bytes_with(
        bytes: &[u8],
        name: &str,
        options: &LoadOptions,
    ) -> Result<(Self, LoadReport)> {
        Self::from_file(TensorFile::parse(Path::new(name), bytes)?, options)
    }

    /// Saves the model as f32 tensors with full metadata, atomically. Model files hold PyTorch
    /// modules: a model with semantics beyond PyTorch's ([`RnnConfig::is_pytorch`]) is refused.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let c = self.config();
        if !c.is_pytorch() {
            return Err(Error::Unsupported(format!(
                "saving {c} as a safetensors model file: model files hold PyTorch modules, and this one has semantics beyond PyTorch's"
            )));
        }
        let mut meta = HashMap::new();
        meta.insert("module".to_string(), c.kind.name().to_string());
        meta.insert("input_size".into(), c.input_size.to_string());
        meta.insert("hidden_size".into(), c.hidden_size.to_string());
        meta.insert("bias".into(), c.bias.to_string());
        if c.kind == ModuleKind::Rnn || c.kind == ModuleKind::RnnCell {
            meta.insert("nonlinearity".into(), c.nonlinearity.name().into());
        }
        if !c.kind.is_cell() {
            meta.insert("num_layers".into(), c.num_layers.to_string());
            meta.insert("batch_first".into(), c.batch_first.to_string());
            meta.insert("bidirectional".into(), c.bidirectional.to_string());
            meta.insert("proj_size".into(), c.proj_size.to_string());
            meta.insert("dropout".into(), format!("{:?}", c.dropout));
        }
        let dict = self.state_dict();
        let tensors: Vec<(&str, &Tensor)> = dict.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        write_atomic(path.as_ref(), &tensors, Some(meta))
    }

    fn from_file(mut file: TensorFile, options: &LoadOptions) -> Result<(Self, LoadReport)> {
        let names: Vec<String> = file.tensors.keys().cloned().collect();
        let prefix = options.dotted_prefix();
        let ignored = if prefix.is_empty() {
            Vec::new()
        } else {
            take_prefixed(&mut file.tensors, &prefix)
        };
        let hint = |e| hint_prefixed_twins(e, &names, &prefix);
        let config = infer_config(&file).map_err(hint)?;
        let mut report = LoadReport::new(&config, &file.metadata);
        report.ignored = ignored;
        let mut tensors = HashMap::new();
        for name in file.tensors.keys().cloned().collect::<Vec<_>>() {
            let tensor = file.take_f32(&name)?.expect("name listed by the file");
            tensors.insert(name, tensor);
        }
        let model = Model::from_state_dict(config, tensors).map_err(|e| match e {
            Error::MissingTensor { name, context } => hint(Error::MissingTensor {
                name,
                context: format!("{context}{}", file.context()),
            }),
            other => other,
        })?;
        Ok((model, report))
    }
}

/// What the tensor names and shapes determine, overridden and checked by the metadata.
fn infer_config(file: &TensorFile) -> Result<RnnConfig> {
    let shape = |name: &str| file.tensors.get(name).map(|t| t.shape.as_slice());
    let cell = shape("weight_ih").is_some();
    let (ih, hh, hr, bias_name) = if cell {
        ("weight_ih", "weight_hh", None, "bias_ih")
    } else {
        (
            "weight_ih_l0",
            "weight_hh_l0",
            Some("weight_hr_l0"),
            "bias_ih_l0",
        )
    };
    let matrix = |name: &str| -> Result<(usize, usize)> {
        match shape(name) {
            Some(&[rows, cols]) => Ok((rows, cols)),
            Some(other) => Err(Error::ShapeMismatch {
                name: name.into(),
                actual: other.to_vec(),
                expected: "a weight must be a matrix (2 dimensions)".into(),
            }),
            None => Err(Error::MissingTensor {
                name: name.into(),
                context: format!(
                    "{} (a model file needs weight_ih_l0 and weight_hh_l0, or weight_ih and weight_hh for a cell)",
                    file.context()
                ),
            }),
        }
    };
    let (_, input_size) = matrix(ih)?;
    let (hh_rows, hh_cols) = matrix(hh)?;
    let (hidden_size, proj_size) = match hr.filter(|n| shape(n).is_some()) {
        Some(name) => {
            let (p, h) = matrix(name)?;
            (h, p)
        }
        None => (hh_cols, 0),
    };
    let gates = if hidden_size > 0 && hh_rows % hidden_size == 0 {
        hh_rows / hidden_size
    } else {
        0
    };
    let family = match gates {
        1 => ModuleKind::Rnn,
        4 => ModuleKind::Lstm,
        3 => ModuleKind::Gru,
        _ => {
            return Err(Error::ShapeMismatch {
                name: hh.into(),
                actual: vec![hh_rows, hh_cols],
                expected: format!(
                    "its rows must be 1, 3 or 4 times hidden_size ({hidden_size}) for RNN, GRU or LSTM"
                ),
            });
        }
    };
    let mut config = RnnConfig::new(family.with_cell(cell), input_size, hidden_size);
    config.proj_size = proj_size;
    config.bias = shape(bias_name).is_some();
    if !cell {
        config.num_layers = (0..)
            .take_while(|k| shape(&format!("weight_ih_l{k}")).is_some())
            .count();
        config.bidirectional = shape("weight_ih_l0_reverse").is_some();
    }
    apply_metadata(&mut config, &file.metadata)?;
    Ok(config)
}

/// Reads the metadata entries into `config`: those the tensors determined must agree; the others
/// (`nonlinearity`, `batch_first`, `dropout`) are taken as given. Unknown keys are ignored.
fn apply_metadata(config: &mut RnnConfig, meta: &HashMap<String, String>) -> Result<()> {
    let bad = |key: &str, value: &str, reason: String| Error::BadMetadata {
        key: key.into(),
        value: value.into(),
        reason,
    };
    let parse_usize = |key: &str, v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| bad(key, v, "expected a non-negative integer".into()))
    };
    let parse_bool = |key: &str, v: &str| match v.trim() {
        "true" | "True" | "1" => Ok(true),
        "false" | "False" | "0" => Ok(false),
        _ => Err(bad(key, v, "expected true or false".into())),
    };
    let agree = |key: &str, v: &str, given: String, inferred: String| {
        if given == inferred {
            Ok(())
        } else {
            Err(bad(
                key,
                v,
                format!("the tensors say {inferred}; the file contradicts itself"),
            ))
        }
    };
    let mut keys: Vec<_> = meta.iter().collect();
    keys.sort();
    for (key, v) in keys {
        let key = key.as_str();
        match key {
            "module" => {
                let kind = ModuleKind::from_name(v.trim()).ok_or_else(|| {
                    bad(
                        key,
                        v,
                        "expected RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell".into(),
                    )
                })?;
                agree(key, v, kind.name().into(), config.kind.name().into())?;
            }
            "input_size" => agree(
                key,
                v,
                parse_usize(key, v)?.to_string(),
                config.input_size.to_string(),
            )?,
            "hidden_size" => agree(
                key,
                v,
                parse_usize(key, v)?.to_string(),
                config.hidden_size.to_string(),
            )?,
            "num_layers" => agree(
                key,
                v,
                parse_usize(key, v)?.to_string(),
                config.num_layers.to_string(),
            )?,
            "proj_size" => agree(
                key,
                v,
                parse_usize(key, v)?.to_string(),
                config.proj_size.to_string(),
            )?,
            "bias" => agree(
                key,
                v,
                parse_bool(key, v)?.to_string(),
                config.bias.to_string(),
            )?,
            "bidirectional" => agree(
                key,
                v,
                parse_bool(key, v)?.to_string(),
                config.bidirectional.to_string(),
            )?,
            "batch_first" => config.batch_first = parse_bool(key, v)? && !config.kind.is_cell(),
            "nonlinearity" => {
                config.nonlinearity = Nonlinearity::from_name(v.trim())
                    .ok_or_else(|| bad(key, v, "expected tanh or relu".into()))?
            }
            "dropout" => {
                config.dropout = v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|d| (0.0..=1.0).contains(d))
                    .ok_or_else(|| bad(key, v, "expected a number in [0, 1]".into()))?
            }
            _ => {}
        }
    }
    Ok(())
}
