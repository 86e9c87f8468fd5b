//! `wgpu-rnn show FILE`: what a file holds, without Python. A model file: its module (as PyTorch
//! prints it), metadata or the defaults assumed, and its tensors; an input, output or gradient
//! file: its tensors. Every tensor with its dtype, shape and a few statistics.
//!
//! Each file format makes a [`View`] (safetensors, ONNX); the printing is the same for all.

use std::path::Path;

use wgpu_rnn::inspect::{FileContents, StoredTensor};
use wgpu_rnn::onnx::OnnxModel;
use wgpu_rnn::{Error, LoadOptions, Model};

/// What `show` prints about one file, whatever its format.
struct View {
    /// "model file", "input file", ...
    kind: &'static str,
    /// Lines about the whole file: module, metadata, notices.
    about: Vec<String>,
    tensors: Vec<StoredTensor>,
    /// Why the file does not load as what it looks like (printed last; `show` then exits 1).
    problem: Option<Error>,
}

/// Prints what `path` holds; a model file is read under `prefix`. Fails when the file cannot be
/// read, or (after printing it) when it looks like a model file that does not load.
pub fn run(path: &Path, prefix: &str) -> Result<(), Error> {
    let view = if crate::onnx::is_onnx(path) {
        onnx_view(path)?
    } else {
        safetensors_view(path, prefix)?
    };
    println!("{}: {}", path.display(), view.kind);
    for line in &view.about {
        println!("{line}");
    }
    let width = view.tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let dtype_width = view
        .tensors
        .iter()
        .map(|t| t.dtype.len())
        .max()
        .unwrap_or(0);
    for t in &view.tensors {
        println!(
            "  {:<width$}  {:<dtype_width$}  {:<14}  {}",
            t.name,
            t.dtype,
            format!("{:?}", t.shape),
            statistics(t)
        );
    }
    view.problem.map_or(Ok(()), Err)
}

/// A safetensors file: a model file when it holds a recurrent module's weights (or says it is a
/// module), else a file of tensors named for what it holds.
fn safetensors_view(path: &Path, prefix: &str) -> Result<View, Error> {
    let contents = FileContents::read(path)?;
    let options = LoadOptions::with_prefix(prefix);
    let dotted = options.dotted_prefix();
    let names: Vec<&str> = contents
        .tensors
        .iter()
        .filter_map(|t| t.name.strip_prefix(dotted.as_str()))
        .collect();
    let is_model = contents.metadata.contains_key("module")
        || names
            .iter()
            .any(|n| *n == "weight_ih_l0" || *n == "weight_ih")
        || !prefix.is_empty();
    let metadata: Vec<String> = contents
        .metadata
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut about = Vec::new();
    if !metadata.is_empty() {
        about.push(format!("metadata: {}", metadata.join(", ")));
    }
    if !is_model {
        let only = |allowed: &[&str]| names.iter().all(|n| allowed.contains(n));
        let kind = if names.contains(&"input") && only(&["input", "h0", "c0", "lengths"]) {
            "input file"
        } else if names.contains(&"output") && only(&["output", "h_n", "c_n"]) {
            "output file"
        } else if names.iter().any(|n| n.starts_with("grad_")) {
            "gradient file"
        } else {
            "tensor file"
        };
        // A whole model's checkpoint: say where the recurrent module is.
        let mut prefixes: Vec<&str> = names
            .iter()
            .filter_map(|n| {
                n.strip_suffix("weight_ih_l0")
                    .or_else(|| n.strip_suffix("weight_ih"))
            })
            .filter(|p| p.ends_with('.'))
            .collect();
        prefixes.dedup();
        if let Some(first) = prefixes.first() {
            about.push(format!(
                "holds a recurrent module under the prefix {}: show it with --prefix {first}",
                prefixes
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return Ok(View {
            kind,
            about,
            tensors: contents.tensors,
            problem: None,
        });
    }
    let mut problem = None;
    match Model::load_with(path, &options) {
        Ok((model, report)) => {
            about.insert(0, format!("module: {model}"));
            let values: usize = model.state_dict().iter().map(|(_, t)| t.data().len()).sum();
            about.push(format!(
                "parameters: {} tensors, {values} values",
                model.state_dict().len()
            ));
            about.extend(report.notice().map(|n| format!("notice: {n}")));
            if !report.ignored.is_empty() {
                about.push(format!(
                    "ignored (not under the prefix '{dotted}'): {}",
                    report.ignored.join(", ")
                ));
            }
        }
        Err(e) => {
            about.insert(0, "module: does not load (below)".into());
            problem = Some(e);
        }
    }
    Ok(View {
        kind: "model file",
        about,
        tensors: contents.tensors,
        problem,
    })
}

/// An ONNX model: its opset, graph inputs and outputs, the nodes it runs (each recurrent one as
/// the module it computes), whether it is one module, and every recurrent weight in PyTorch's
/// names under its node's name.
fn onnx_view(path: &Path) -> Result<View, Error> {
    let model = OnnxModel::load(path)?;
    let mut about = vec![format!("opset: {}", model.opset())];
    let list = |ios: &[wgpu_rnn::onnx::GraphIo]| {
        ios.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    about.push(format!("inputs: {}", list(model.inputs())));
    about.push(format!("outputs: {}", list(model.outputs())));
    let mut tensors = Vec::new();
    for node in model.nodes() {
        let Some(m) = node.model else { continue };
        about.push(format!(
            "node {} '{}' ({}): {m}",
            node.index, node.name, node.op_type
        ));
        let owner = if node.name.is_empty() {
            format!("node{}", node.index)
        } else {
            node.name.to_string()
        };
        for (name, t) in m.state_dict() {
            tensors.push(StoredTensor {
                name: format!("{owner}.{name}"),
                dtype: "F32".into(),
                shape: t.shape().to_vec(),
                values: Some(t.data().iter().map(|&v| f64::from(v)).collect()),
            });
        }
    }
    let glue = model.nodes().iter().filter(|n| n.model.is_none()).count();
    about.push(format!("glue nodes run on the host: {glue}"));
    match model.to_model() {
        Ok(one) => about.push(format!("as one model (Model::load): {one}")),
        Err(e) => about.push(format!("as one model: no ({e})")),
    }
    Ok(View {
        kind: "ONNX model",
        about,
        tensors,
        problem: None,
    })
}

/// `min .. max, mean, std` (and NaN / infinity counts) of a tensor's values.
fn statistics(t: &StoredTensor) -> String {
    let Some(values) = &t.values else {
        return "(no numeric reading of this dtype)".into();
    };
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let nan = values.iter().filter(|v| v.is_nan()).count();
    let inf = values.iter().filter(|v| v.is_infinite()).count();
    let mut out = if finite.is_empty() {
        "no finite values".to_string()
    } else {
        let n = finite.len() as f64;
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = finite.iter().sum::<f64>() / n;
        let std = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        format!(
            "min {} max {} mean {} std {}",
            number(min),
            number(max),
            number(mean),
            number(std)
        )
    };
    if nan > 0 {
        out.push_str(&format!(", {nan} NaN"));
    }
    if inf > 0 {
        out.push_str(&format!(", {inf} infinite"));
    }
    out
}

/// A number in at most 6 significant digits: integers as integers, the rest in `{:.6}` or
/// scientific notation when very small or large.
fn number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if (1e-4..1e6).contains(&v.abs()) {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').to_string()
    } else {
        format!("{v:.5e}")
    }
}
