//! `wgpu-rnn grad`: reproduces every PyTorch gradient fixture through files, and on every bad
//! gradient file exits non-zero with one line on stderr and no output file.

mod common;
#[path = "common/gpu.rs"]
mod gpu;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::bad_files::{self, Raw, f32s, write};
use common::fixtures;
use common::outputs::{assert_file_matches, tempdir};

fn grad(model: &Path, input: &Path, grads: &Path, output: &Path, device: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"))
        .args(["grad", "--model"])
        .arg(model)
        .arg("--input")
        .arg(input)
        .arg("--grad")
        .arg(grads)
        .arg("--output")
        .arg(output)
        .args(["--device", device])
        .output()
        .expect("the binary runs")
}

/// Runs gradient fixture `case` through the CLI and holds every tensor to `tolerance`.
fn assert_grad_cli_reproduces(
    case: &fixtures::GradFixture,
    device: &str,
    dir: &Path,
    tolerance: f64,
) {
    let out_path = dir.join(format!("{}.{device}.safetensors", case.name));
    let out = grad(&case.model, &case.input, &case.grads, &out_path, device);
    let label = format!("{} on {device}", case.name);
    assert!(
        out.status.success(),
        "{label}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_file_matches(&label, &out_path, &case.expected, tolerance);
}

#[test]
fn grad_on_the_reference_reproduces_every_gradient_fixture() {
    let dir = tempdir("grad-fixtures");
    let cases = fixtures::grad_cases();
    assert!(cases.len() >= 80);
    for case in &cases {
        assert_grad_cli_reproduces(case, "reference", &dir, 1e-6);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Gradient files a user can get wrong for the LSTM(3, 4, num_layers=2) of the bad-file cases
/// (output (5, 2, 4), h_n and c_n (2, 2, 4)), each with a phrase its one-line message must hold.
fn bad_grad_files() -> Vec<(&'static str, Vec<Raw>, &'static str)> {
    let good = || {
        vec![
            f32s("grad_output", &[5, 2, 4], 7),
            f32s("grad_h_n", &[2, 2, 4], 8),
        ]
    };
    let with = |extra: Raw| {
        let mut v = good();
        v.push(extra);
        v
    };
    vec![
        (
            "unknown_name",
            with(f32s("grad_hn", &[2, 2, 4], 9)),
            "unexpected tensor 'grad_hn'",
        ),
        (
            "no_grad_output",
            vec![f32s("grad_h_n", &[2, 2, 4], 8)],
            "missing tensor 'grad_output'",
        ),
        (
            "output_shape",
            vec![f32s("grad_output", &[5, 2, 5], 7)],
            "'grad_output' has shape [5, 2, 5]",
        ),
        (
            "output_steps",
            vec![f32s("grad_output", &[4, 2, 4], 7)],
            "'grad_output' has shape [4, 2, 4]",
        ),
        (
            "h_n_shape",
            vec![
                f32s("grad_output", &[5, 2, 4], 7),
                f32s("grad_h_n", &[1, 2, 4], 8),
            ],
            "'grad_h_n' has shape",
        ),
        (
            "c_n_shape",
            with(f32s("grad_c_n", &[2, 4], 9)),
            "'grad_c_n' has shape [2, 4]",
        ),
        (
            "int_dtype",
            vec![bad_files::i64s("grad_output", &[1, 2, 3])],
            "'grad_output' has dtype I64",
        ),
    ]
}

#[test]
fn every_bad_gradient_file_exits_non_zero_with_one_line_and_writes_nothing() {
    let dir = tempdir("grad-bad");
    let model = bad_files::base_model(&dir);
    let input = dir.join("in.safetensors");
    write(&input, &bad_files::base_inputs(), None);
    let garbage = dir.join("garbage.grad.safetensors");
    std::fs::write(&garbage, b"not a safetensors file at all").unwrap();
    let mut cases: Vec<(String, PathBuf, &str)> = bad_grad_files()
        .into_iter()
        .map(|(name, tensors, phrase)| {
            let path = dir.join(format!("{name}.grad.safetensors"));
            write(&path, &tensors, None);
            (name.to_string(), path, phrase)
        })
        .collect();
    cases.push(("garbage".into(), garbage, "not a valid safetensors file"));
    cases.push((
        "absent".into(),
        dir.join("absent.safetensors"),
        "absent.safetensors",
    ));
    // A GRU has no c_n, so no grad_c_n either.
    let gru = fixtures::grad_cases()
        .into_iter()
        .find(|c| c.name == "gru_l1")
        .unwrap();
    let gru_grads = dir.join("gru.grad.safetensors");
    write(
        &gru_grads,
        &[
            f32s("grad_output", &[7, 3, 10], 1),
            f32s("grad_c_n", &[1, 3, 10], 2),
        ],
        None,
    );
    for (name, grads, phrase) in &cases {
        let out_path = dir.join(format!("{name}.out.safetensors"));
        let out = grad(&model, &input, grads, &out_path, "reference");
        assert_one_line_error(&out, name, phrase);
        assert!(!out_path.exists(), "{name}: wrote an output file");
    }
    let out_path = dir.join("gru.out.safetensors");
    let out = grad(&gru.model, &gru.input, &gru_grads, &out_path, "reference");
    assert_one_line_error(&out, "gru", "grad_c_n only for LSTM and LSTMCell");
    assert!(!out_path.exists());
    // A failed grad leaves an existing output untouched, and grad never overwrites its inputs.
    let keep = dir.join("previous.safetensors");
    std::fs::write(&keep, b"previous results").unwrap();
    let out = grad(&model, &input, &cases[2].1, &keep, "reference");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&keep).unwrap(), b"previous results");
    // The fast CPU path has no backward: refused, naming the devices that have one.
    let out = grad(
        &model,
        &input,
        &cases[0].1,
        &dir.join("cpu.out.safetensors"),
        "cpu",
    );
    assert_one_line_error(&out, "cpu", "--device reference");
    let good = dir.join("good.grad.safetensors");
    let no_dir = dir.join("no such dir").join("out.safetensors");
    let out = grad(&model, &input, &cases[0].1, &no_dir, "reference");
    assert_one_line_error(&out, "no dir", "no such dir");
    write(&good, &[f32s("grad_output", &[5, 2, 4], 7)], None);
    let before = std::fs::read(&good).unwrap();
    let out = grad(&model, &input, &good, &good, "reference");
    assert_one_line_error(&out, "self", "refusing to write");
    assert_eq!(std::fs::read(&good).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-") || n.ends_with(".out.safetensors"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn assert_one_line_error(out: &Output, name: &str, phrase: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{name}: {stderr:?}");
    assert!(
        stderr.starts_with("wgpu-rnn: error: "),
        "{name}: {stderr:?}"
    );
    assert!(
        stderr.contains(phrase),
        "{name}: {stderr:?} lacks {phrase:?}"
    );
}

/// `grad --device gpu` on each backend reproduces a spread of gradient fixtures (every kind and
/// option) within 1e-4.
#[test]
fn grad_on_the_gpu_reproduces_fixtures_on_each_backend() {
    let picks = [
        "rnncell_notebook",
        "lstmcell_unbatched",
        "grucell_nobias",
        "rnn_relu_bidir_l2",
        "lstm_proj_l2_bidir_bf",
        "gru_lengths_short",
        "lstm_lengths_short_bf",
        "gru_large",
        "rnn_unbatched",
        "lstm_nostate",
    ];
    let dir = tempdir("grad-gpu");
    for backend in gpu::env_names() {
        for case in fixtures::grad_cases()
            .iter()
            .filter(|c| picks.contains(&c.name.as_str()))
        {
            let out_path = dir.join(format!("{}.{backend}.safetensors", case.name));
            let out = Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"))
                .env("WGPU_BACKEND", backend)
                .args(["grad", "--model"])
                .arg(&case.model)
                .arg("--input")
                .arg(&case.input)
                .arg("--grad")
                .arg(&case.grads)
                .arg("--output")
                .arg(&out_path)
                .args(["--device", "gpu"])
                .output()
                .unwrap();
            let label = format!("{} on {backend}", case.name);
            assert!(
                out.status.success(),
                "{label}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stderr).contains("forward and back on"));
            assert_file_matches(&label, &out_path, &case.expected, 1e-4);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
