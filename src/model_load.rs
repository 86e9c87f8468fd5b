//! How a model file is read and what reading it assumed: [`LoadOptions`] (a key prefix, for a
//! whole model's checkpoint) and [`LoadReport`] (each setting the file did not state, so that a
//! wrong default is visible instead of silently wrong numbers).
//!
//! The report is format-neutral: any loader (safetensors today) fills it the same way.

use std::collections::{BTreeSet, HashMap};

use crate::config::{Family, RnnConfig};
use crate::error::Error;

/// How [`Model::load_with`](crate::Model::load_with) reads a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Read only the tensors whose names start with this prefix, without it: `rnn.` reads
    /// `rnn.weight_ih_l0` as `weight_ih_l0` from the checkpoint of a model holding `self.rnn`
    /// beside other layers, which are ignored (and listed in [`LoadReport::ignored`]). `rnn` and
    /// `rnn.` are the same prefix. Empty: every tensor must belong to the module.
    pub prefix: String,
}

impl LoadOptions {
    /// Options reading the tensors under `prefix` (see [`LoadOptions::prefix`]).
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix as matched against tensor names: with its trailing dot, or empty.
    pub fn dotted_prefix(&self) -> String {
        match self.prefix.as_str() {
            "" => String::new(),
            p if p.ends_with('.') => p.to_string(),
            p => format!("{p}."),
        }
    }
}

/// A setting a model file did not state and the tensors do not determine, and the value (PyTorch's
/// default) the loader took for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assumed {
    /// The constructor argument, `nonlinearity` or `batch_first`.
    pub key: &'static str,
    /// The value assumed, as the metadata would write it: `tanh`, `false`.
    pub value: String,
}

/// What loading a model file found besides the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Each setting assumed because the file does not state it (empty when the metadata gives
    /// every setting that changes the numbers). Only settings that matter for the module kind:
    /// `nonlinearity` for RNN and RNNCell, `batch_first` for RNN, LSTM and GRU.
    pub assumed: Vec<Assumed>,
    /// Whether the file carries metadata at all.
    pub has_metadata: bool,
    /// Tensors left out because their names lack [`LoadOptions::prefix`], sorted.
    pub ignored: Vec<String>,
}

impl LoadReport {
    /// Records the settings `config` took by default: those its kind uses that the metadata
    /// `meta` does not give.
    pub(crate) fn new(config: &RnnConfig, meta: &HashMap<String, String>) -> Self {
        let mut assumed = Vec::new();
        if config.family() == Family::Rnn && !meta.contains_key("nonlinearity") {
            assumed.push(Assumed {
                key: "nonlinearity",
                value: config.nonlinearity.name().into(),
            });
        }
        if !config.kind.is_cell() && !meta.contains_key("batch_first") {
            assumed.push(Assumed {
                key: "batch_first",
                value: config.batch_first.to_string(),
            });
        }
        Self {
            assumed,
            has_metadata: !meta.is_empty(),
            ignored: Vec::new(),
        }
    }

    /// One line naming every assumed setting, e.g. `nonlinearity=tanh, batch_first=false
    /// assumed: the file has no metadata`; `None` when nothing was assumed.
    pub fn notice(&self) -> Option<String> {
        if self.assumed.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .assumed
            .iter()
            .map(|a| format!("{}={}", a.key, a.value))
            .collect();
        let why = if self.has_metadata {
            "the file's metadata does not say"
        } else {
            "the file has no metadata"
        };
        Some(format!("{} assumed: {why}", list.join(", ")))
    }
}

/// Keeps the tensors named under `prefix` (dotted, non-empty), renamed without it; returns the
/// names of the others, sorted.
pub(crate) fn take_prefixed<T>(tensors: &mut HashMap<String, T>, prefix: &str) -> Vec<String> {
    let mut ignored = Vec::new();
    let all: Vec<(String, T)> = tensors.drain().collect();
    for (name, tensor) in all {
        match name.strip_prefix(prefix) {
            Some(rest) => {
                tensors.insert(rest.to_string(), tensor);
            }
            None => ignored.push(name),
        }
    }
    ignored.sort();
    ignored
}

/// Adds to a missing-tensor error the prefixes under which the file does hold that tensor (its
/// "prefixed twins", e.g. `rnn.weight_ih_l0` for `weight_ih_l0`), so the message says which
/// prefix to load with. `names` are all the file's tensor names; `prefix` the one in use.
pub(crate) fn hint_prefixed_twins(error: Error, names: &[String], prefix: &str) -> Error {
    let Error::MissingTensor { name, context } = error else {
        return error;
    };
    // A file with no sequence weight may be a cell's checkpoint: look for `weight_ih` too.
    let mut wanted = vec![name.clone()];
    if name == "weight_ih_l0" {
        wanted.push("weight_ih".into());
    }
    let twins: BTreeSet<(String, String)> = names
        .iter()
        .flat_map(|n| {
            wanted.iter().filter_map(move |w| {
                let head = n.strip_suffix(w.as_str())?;
                (head.ends_with('.') && head != prefix).then(|| (head.to_string(), n.clone()))
            })
        })
        .collect();
    let context = match twins.len() {
        0 => context,
        _ => {
            let listed: Vec<String> = twins
                .iter()
                .take(4)
                .map(|(p, n)| format!("'{n}' (prefix '{p}')"))
                .collect();
            let first = &twins.iter().next().expect("non-empty").0;
            format!(
                "{context}; the file has {}: load with that prefix (--prefix {first} on the CLI)",
                listed.join(", ")
            )
        }
    };
    Error::MissingTensor { name, context }
}
