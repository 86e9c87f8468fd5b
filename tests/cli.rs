//! The `wgpu-rnn` binary: reproduces every PyTorch fixture through files, and on every bad input
//! exits non-zero with one line on stderr and no output file.

mod common;
#[path = "common/gpu.rs"]
mod gpu;

use std::path::Path;
use std::process::Output;

use common::fixtures;
use common::outputs::{assert_file_matches, tempdir};

/// Runs the binary, with `WGPU_BACKEND` set when `backend` is given.
fn wgpu_rnn_on(backend: Option<&str>, args: &[&std::ffi::OsStr]) -> Output {
    let env: Vec<_> = backend.map(|b| ("WGPU_BACKEND", b)).into_iter().collect();
    common::cli::wgpu_rnn(&env, args)
}

fn wgpu_rnn(args: &[&std::ffi::OsStr]) -> Output {
    wgpu_rnn_on(None, args)
}

fn run_on(
    backend: Option<&str>,
    model: &Path,
    input: &Path,
    output: &Path,
    device: &str,
) -> Output {
    let env: Vec<_> = backend.map(|b| ("WGPU_BACKEND", b)).into_iter().collect();
    common::cli::run(&env, model, input, output, device)
}

fn run(model: &Path, input: &Path, output: &Path, device: &str) -> Output {
    run_on(None, model, input, output, device)
}

/// Runs fixture `case` through the CLI and holds every output tensor to `tolerance`.
fn assert_cli_reproduces(
    case: &fixtures::Fixture,
    backend: Option<&str>,
    device: &str,
    dir: &Path,
    tolerance: f64,
) {
    let label = format!("{} on {}", case.name, backend.unwrap_or(device));
    let out_path = dir.join(format!(
        "{}.{}.safetensors",
        case.name,
        backend.unwrap_or(device)
    ));
    let out = run_on(backend, &case.model, &case.input, &out_path, device);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{label}: {stderr}");
    assert_file_matches(&label, &out_path, &case.expected, tolerance);
}

/// `--device reference` (f64) within 1e-6 and `--device cpu` (fast f32) within 1e-5 of PyTorch.
#[test]
fn run_on_the_reference_and_the_fast_cpu_reproduces_every_fixture() {
    let dir = tempdir("fixtures");
    for case in fixtures::all() {
        assert_cli_reproduces(&case, None, "reference", &dir, 1e-6);
        assert_cli_reproduces(&case, None, "cpu", &dir, 1e-5);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `check --device cpu` compares the fast CPU path with the reference and fails past the
/// tolerance; `auto` without an adapter (`WGPU_BACKEND=dx12` here has none) runs on the fast CPU
/// path with a notice naming it.
#[test]
fn check_on_the_fast_cpu_and_auto_fallback() {
    let case = fixtures::all()
        .into_iter()
        .find(|c| c.name == "lstm_mid")
        .unwrap();
    let check = |tolerance: &str| {
        wgpu_rnn(&[
            "check".as_ref(),
            "--model".as_ref(),
            case.model.as_os_str(),
            "--input".as_ref(),
            case.input.as_os_str(),
            "--device".as_ref(),
            "cpu".as_ref(),
            "--tolerance".as_ref(),
            tolerance.as_ref(),
        ])
    };
    let out = check("1e-5");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("fast f32"), "{stdout}");
    assert!(stdout.contains("agree within 1e-5"), "{stdout}");
    let strict = check("1e-12");
    assert_eq!(strict.status.code(), Some(1));

    let dir = tempdir("auto");
    let out_path = dir.join("auto.safetensors");
    let out = run_on(Some("dx12"), &case.model, &case.input, &out_path, "auto");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("wgpu-rnn: notice: ") && l.contains("fast f32")),
        "{stderr}"
    );
    assert_file_matches("auto on no adapter", &out_path, &case.expected, 1e-5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_bad_case_exits_non_zero_with_one_line_and_writes_nothing() {
    let dir = tempdir("bad");
    let cases = common::bad_files::cases(&dir);
    for case in &cases {
        let out_path = dir.join(format!("{}.out.safetensors", case.name));
        let out = run(&case.model, &case.input, &out_path, "cpu");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", case.name);
        assert_eq!(stderr.lines().count(), 1, "{}: {stderr:?}", case.name);
        assert!(
            stderr.starts_with("wgpu-rnn: error: "),
            "{}: {stderr:?}",
            case.name
        );
        assert!(!out_path.exists(), "{}: wrote an output file", case.name);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-") || n.ends_with(".out.safetensors"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_run_leaves_an_existing_output_untouched() {
    let dir = tempdir("keep");
    let cases = common::bad_files::cases(&dir);
    let case = cases.iter().find(|c| c.name == "lengths_over_t").unwrap();
    let out_path = dir.join("previous.safetensors");
    std::fs::write(&out_path, b"previous results").unwrap();
    let out = run(&case.model, &case.input, &out_path, "cpu");
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&out_path).unwrap(), b"previous results");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refuses_to_overwrite_its_own_input() {
    let case = &fixtures::all()[0];
    let dir = tempdir("self");
    let input = dir.join("in.safetensors");
    std::fs::copy(&case.input, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let out = run(&case.model, &input, &input, "cpu");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("refusing to write"), "{stderr}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn usage_errors_exit_non_zero() {
    let out = wgpu_rnn(&["run".as_ref(), "--model".as_ref(), "m".as_ref()]);
    assert!(!out.status.success());
    let out = wgpu_rnn(&["frobnicate".as_ref()]);
    assert!(!out.status.success());
}

fn with_backend(backend: &str, args: &[&std::ffi::OsStr]) -> Output {
    wgpu_rnn_on(Some(backend), args)
}

/// `run --device gpu` on each backend reproduces a spread of fixtures (every kind and option).
#[test]
fn run_on_gpu_reproduces_fixtures_on_each_backend() {
    let picks = [
        "rnncell_notebook",
        "lstmcell_unbatched",
        "grucell_nobias",
        "rnn_relu_bidir_l2",
        "lstm_proj_l2_bidir_bf",
        "gru_lengths_short",
        "lstm_lengths_short_bf",
        "lstm_nan",
        "gru_large",
        "rnn_unbatched",
    ];
    let dir = tempdir("gpu");
    for backend in gpu::env_names() {
        for case in fixtures::all()
            .iter()
            .filter(|c| picks.contains(&c.name.as_str()))
        {
            assert_cli_reproduces(case, Some(backend), "gpu", &dir, 1e-5);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `check` reports per-tensor differences and agrees; `info` lists the adapter.
#[test]
fn check_and_info_on_each_backend() {
    let case = fixtures::all()
        .into_iter()
        .find(|c| c.name == "lstm_mid")
        .unwrap();
    let check = |backend: &str, tolerance: &str| {
        with_backend(
            backend,
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
    };
    for backend in gpu::env_names() {
        let out = check(backend, "1e-5");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{backend}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for name in ["output", "h_n", "c_n"] {
            assert!(stdout.contains(&format!("{name} [")), "{backend}: {stdout}");
        }
        assert!(stdout.contains("agree within 1e-5"), "{stdout}");
        // A tolerance below f32 rounding must fail, proving the comparison is real.
        let strict = check(backend, "1e-12");
        assert_eq!(strict.status.code(), Some(1), "{backend}");
        let info = with_backend(backend, &["info".as_ref()]);
        assert!(info.status.success());
        let listing = String::from_utf8_lossy(&info.stdout).to_lowercase();
        assert!(listing.contains(&format!("backend {backend}")), "{listing}");
    }
}
