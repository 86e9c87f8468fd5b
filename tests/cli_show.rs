//! `wgpu-rnn show FILE`: a model file's module, metadata or assumed defaults and tensors; an input
//! or output file's tensors with dtype, shape and statistics that match the file's values.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use common::fixtures;

fn show(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec![OsStr::new("show"), path.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    common::cli::wgpu_rnn(&[], &args)
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of tensor `name` in `show`'s listing.
fn tensor_line<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in {listing}"))
}

/// The number after `key` on a tensor line.
fn stat(line: &str, key: &str) -> f64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| *w == key).unwrap();
    words[i + 1].trim_end_matches(',').parse().unwrap()
}

#[test]
fn a_model_file_shows_its_module_metadata_and_tensors() {
    let listing = stdout_of(&show(
        &fixtures::dir().join("lstm_proj_l2_bidir_bf.model.safetensors"),
        &[],
    ));
    assert!(listing.contains(": model file\n"), "{listing}");
    assert!(
        listing.contains("module: LSTM(")
            && listing.contains("proj_size=")
            && listing.contains("metadata: batch_first=true"),
        "{listing}"
    );
    let line = tensor_line(&listing, "weight_hr_l1_reverse");
    assert!(line.contains("F32") && line.contains('['), "{line}");
    // Without metadata: the defaults assumed.
    let listing = stdout_of(&show(
        &fixtures::dir().join("rnn_nometa.model.safetensors"),
        &[],
    ));
    assert!(
        listing.contains(
            "notice: nonlinearity=tanh, batch_first=false assumed: the file has no metadata"
        ),
        "{listing}"
    );
}

#[test]
fn an_input_file_shows_statistics_that_match_its_values() {
    let case = fixtures::all()
        .into_iter()
        .find(|c| c.name == "gru_lengths_int32")
        .unwrap();
    let listing = stdout_of(&show(&case.input, &[]));
    assert!(listing.contains(": input file\n"), "{listing}");
    let bytes = std::fs::read(&case.input).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let input: Vec<f64> = file
        .tensor("input")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
        .collect();
    let line = tensor_line(&listing, "input");
    assert!(line.contains("F32") && line.contains("[7, 4, 5]"), "{line}");
    let min = input.iter().copied().fold(f64::INFINITY, f64::min);
    let max = input.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = input.iter().sum::<f64>() / input.len() as f64;
    for (key, want) in [("min", min), ("max", max), ("mean", mean)] {
        assert!(
            (stat(line, key) - want).abs() < 1e-5,
            "{key}: {line} vs {want}"
        );
    }
    let lengths = tensor_line(&listing, "lengths");
    assert!(
        lengths.contains("I32") && lengths.contains("[4]"),
        "{lengths}"
    );
    // NaN in an expected file is counted, not folded into the statistics.
    let nan = fixtures::dir().join("lstm_nan.expected.safetensors");
    let listing = stdout_of(&show(&nan, &[]));
    assert!(tensor_line(&listing, "output").contains("NaN"), "{listing}");
    assert!(stat(tensor_line(&listing, "output"), "max").is_finite());
}

#[test]
fn a_whole_models_checkpoint_shows_with_a_prefix_and_a_pt_file_is_named() {
    let net = fixtures::dir().join("export/net.safetensors");
    let listing = stdout_of(&show(&net, &[]));
    assert!(listing.contains("--prefix rnn."), "{listing}");
    let listing = stdout_of(&show(&net, &["--prefix", "rnn."]));
    assert!(
        listing.contains("module: LSTM(4, 6, num_layers=2)")
            && listing.contains("ignored (not under the prefix 'rnn.'): head.bias, head.weight"),
        "{listing}"
    );
    let out = show(&fixtures::dir().join("export/net.pt"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PyTorch checkpoint"), "{stderr}");
}
