//! The CLI's arguments and what it says: values refused before any work (`--tolerance nan`,
//! `--tolerance -1`, `bench --iters 0`), output paths checked before any computation, `bench
//! --device auto`, and the one-line summary `run` prints on success. None of these needs a GPU.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use common::cli::wgpu_rnn;
use common::fixtures;
use common::outputs::tempdir;

fn run(model: &Path, input: &Path, output: &Path, device: &str) -> Output {
    common::cli::run(&[], model, input, output, device)
}

fn check_with_tolerance(tolerance: &str) -> Output {
    let case = fixtures::named("gru_mid");
    wgpu_rnn(
        &[],
        &[
            "check".as_ref(),
            "--model".as_ref(),
            case.model.as_os_str(),
            "--input".as_ref(),
            case.input.as_os_str(),
            "--tolerance".as_ref(),
            tolerance.as_ref(),
        ],
    )
}

fn bench(extra: &[&str]) -> Output {
    let mut args = vec![
        "bench",
        "--module",
        "lstm",
        "--input-size",
        "3",
        "--hidden-size",
        "5",
        "--batch",
        "2",
        "--seq-len",
        "4",
    ];
    args.extend_from_slice(extra);
    wgpu_rnn(&[], &args.iter().map(OsStr::new).collect::<Vec<_>>())
}

/// A usage error: exit 2, clap's message naming the flag and our reason.
fn assert_usage_error(out: &Output, label: &str, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{label}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{label}: no {needle:?} in {stderr:?}"
        );
    }
}

#[test]
fn a_nan_or_negative_tolerance_is_refused_with_a_message() {
    let nan = check_with_tolerance("nan");
    assert_usage_error(&nan, "nan", &["--tolerance", "NaN", "non-negative"]);
    let negative = check_with_tolerance("-1");
    assert_usage_error(&negative, "-1", &["--tolerance", "'-1'", "non-negative"]);
}

#[test]
fn bench_refuses_zero_iterations() {
    let out = bench(&["--device", "cpu", "--iters", "0"]);
    assert_usage_error(&out, "--iters 0", &["--iters", "at least 1"]);
}

#[test]
fn bench_takes_device_auto() {
    let out = bench(&[
        "--device", "auto", "--iters", "1", "--warmup", "0", "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"device\":\"gpu\"") || stdout.contains("\"device\":\"cpu\""),
        "{stdout}"
    );
}

#[test]
fn run_says_what_ran_and_what_it_wrote() {
    let case = fixtures::named("lstm_mid");
    let dir = tempdir("args-summary");
    let out_path = dir.join("o.safetensors");
    let out = run(&case.model, &case.input, &out_path, "cpu");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    let line = stderr.trim_end();
    for needle in [
        "LSTM(",
        "cpu",
        "o.safetensors",
        "output [",
        "h_n [",
        "c_n [",
    ] {
        assert!(line.contains(needle), "no {needle:?} in {line:?}");
    }
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The output's directory is checked before the model, the input or the forward: the missing
/// directory is reported even when the input is unreadable.
#[test]
fn an_output_in_a_missing_directory_is_refused_before_any_work() {
    let case = fixtures::named("gru_mid");
    let dir = tempdir("args-outdir");
    let garbage_input = dir.join("garbage.safetensors");
    std::fs::write(&garbage_input, b"not a safetensors file").unwrap();
    let out_path = dir.join("no/such/dir/o.safetensors");
    for input in [&case.input, &garbage_input] {
        let out = run(&case.model, input, &out_path, "cpu");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
        assert!(
            stderr.contains("cannot write")
                && stderr.contains("its directory")
                && stderr.contains("does not exist"),
            "{stderr:?}"
        );
    }
    // A file where the directory should be, and a directory as the output.
    let file_as_dir = dir.join("plain");
    std::fs::write(&file_as_dir, b"x").unwrap();
    let out = run(
        &case.model,
        &case.input,
        &file_as_dir.join("o.safetensors"),
        "cpu",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a directory"), "{stderr:?}");
    let out = run(&case.model, &case.input, &dir, "cpu");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
