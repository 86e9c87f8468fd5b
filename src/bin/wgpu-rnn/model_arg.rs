//! The `--model FILE [--prefix P]` pair of the commands that read a model file, and loading it
//! with a one-line notice of each default the file left open.

use std::path::{Path, PathBuf};

use wgpu_rnn::{Error, LoadOptions, Model};

/// A model file to read.
#[derive(clap::Args)]
pub struct ModelArg {
    /// Model file: safetensors of the module's state_dict (metadata optional), or an ONNX model
    /// (`.onnx`, see the README's "From ONNX").
    #[arg(long)]
    pub model: PathBuf,
    /// Read only the tensors under this key prefix, e.g. `rnn.` for `rnn.weight_ih_l0` in the
    /// checkpoint of a whole model (its other tensors are ignored).
    #[arg(long, default_value = "", hide_default_value = true)]
    pub prefix: String,
}

impl ModelArg {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.model
    }

    /// Refuses `--prefix` for an ONNX model (it selects tensors of a safetensors checkpoint).
    pub fn refuse_prefix_for_onnx(&self) -> Result<(), Error> {
        if self.prefix.is_empty() {
            return Ok(());
        }
        Err(Error::Unsupported(format!(
            "--prefix {} with the ONNX model {}: --prefix selects the tensors of a safetensors checkpoint",
            self.prefix,
            self.model.display()
        )))
    }

    /// Loads the model; prints `wgpu-rnn: notice: FILE: nonlinearity=tanh, ... assumed: ...` on
    /// stderr when the file left settings to their defaults.
    pub fn load(&self) -> Result<Model, Error> {
        let options = LoadOptions::with_prefix(self.prefix.clone());
        let (model, report) = Model::load_with(&self.model, &options)?;
        if let Some(notice) = report.notice() {
            eprintln!(
                "wgpu-rnn: notice: {}: {notice} (export with scripts/export_model.py to record them)",
                self.model.display()
            );
        }
        Ok(model)
    }
}
