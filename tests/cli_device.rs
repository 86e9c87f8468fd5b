//! The CLI under wgpu's environment variables: a `WGPU_ADAPTER_NAME` or `WGPU_BACKEND` that no
//! adapter satisfies is one line and exit 1 under `--device gpu` (never a panic), and `--device
//! auto` falls back to the CPU with a notice. None of these needs a GPU.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fixtures;

/// Runs the binary with `env` set (and wgpu's variables cleared otherwise).
fn wgpu_rnn(env: &[(&str, &str)], args: &[&OsStr]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"));
    for var in ["WGPU_BACKEND", "WGPU_ADAPTER_NAME", "WGPU_POWER_PREF"] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.args(args).output().expect("the binary runs")
}

fn case(name: &str) -> fixtures::Fixture {
    fixtures::all()
        .into_iter()
        .find(|c| c.name == name)
        .expect("fixture exists")
}

fn tempdir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("wgpu-rnn-cli-device-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_args<'a>(case: &'a fixtures::Fixture, out: &'a Path, device: &'a str) -> Vec<&'a OsStr> {
    vec![
        "run".as_ref(),
        "--model".as_ref(),
        case.model.as_os_str(),
        "--input".as_ref(),
        case.input.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
        "--device".as_ref(),
        device.as_ref(),
    ]
}

/// Exit 1 and exactly one line, `wgpu-rnn: error: ...`, containing every one of `needles`.
fn assert_one_line_error(out: &Output, label: &str, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{label}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{label}: {stderr:?}");
    assert!(
        stderr.starts_with("wgpu-rnn: error: "),
        "{label}: {stderr:?}"
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{label}: no {needle:?} in {stderr:?}"
        );
    }
}

const NO_SUCH_ADAPTER: (&str, &str) = ("WGPU_ADAPTER_NAME", "no-such-adapter-xyz");

#[test]
fn an_adapter_name_nothing_matches_is_one_line_and_exit_1_on_every_gpu_command() {
    let case = case("lstm_mid");
    let dir = tempdir("name");
    let out_path = dir.join("o.safetensors");
    let run = wgpu_rnn(&[NO_SUCH_ADAPTER], &run_args(&case, &out_path, "gpu"));
    assert_one_line_error(
        &run,
        "run --device gpu",
        &["WGPU_ADAPTER_NAME", "no-such-adapter-xyz"],
    );
    assert!(!out_path.exists());
    let check = wgpu_rnn(
        &[NO_SUCH_ADAPTER],
        &[
            "check".as_ref(),
            "--model".as_ref(),
            case.model.as_os_str(),
            "--input".as_ref(),
            case.input.as_os_str(),
        ],
    );
    assert_one_line_error(&check, "check", &["WGPU_ADAPTER_NAME"]);
    let bench = wgpu_rnn(
        &[NO_SUCH_ADAPTER],
        &[
            "bench",
            "--module",
            "gru",
            "--input-size",
            "3",
            "--hidden-size",
            "4",
            "--batch",
            "1",
            "--seq-len",
            "2",
            "--device",
            "gpu",
        ]
        .map(OsStr::new),
    );
    assert_one_line_error(&bench, "bench --device gpu", &["WGPU_ADAPTER_NAME"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn auto_falls_back_to_the_cpu_with_a_notice_when_the_adapter_name_matches_nothing() {
    let case = case("lstm_mid");
    let dir = tempdir("auto");
    let out_path = dir.join("o.safetensors");
    let run = wgpu_rnn(&[NO_SUCH_ADAPTER], &run_args(&case, &out_path, "auto"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.starts_with("wgpu-rnn: notice: ")
            && l.contains("WGPU_ADAPTER_NAME")
            && l.contains("CPU")),
        "{stderr:?}"
    );
    assert!(out_path.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unknown_backend_name_is_reported_by_info_and_run() {
    let case = case("gru_mid");
    let dir = tempdir("vulcan");
    let out_path = dir.join("o.safetensors");
    let env = [("WGPU_BACKEND", "vulcan")];
    let info = wgpu_rnn(&env, &["info".as_ref()]);
    assert_one_line_error(
        &info,
        "info",
        &["WGPU_BACKEND=vulcan", "unknown backend name 'vulcan'"],
    );
    assert!(!String::from_utf8_lossy(&info.stderr).contains("Mesa"));
    let run = wgpu_rnn(&env, &run_args(&case, &out_path, "gpu"));
    assert_one_line_error(&run, "run --device gpu", &["unknown backend name 'vulcan'"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn dx12_on_linux_is_said_plainly() {
    let info = wgpu_rnn(&[("WGPU_BACKEND", "dx12")], &["info".as_ref()]);
    assert_one_line_error(
        &info,
        "info",
        &["WGPU_BACKEND=dx12", "no dx12 backend", "vulkan, gl"],
    );
    assert!(!String::from_utf8_lossy(&info.stderr).contains("Mesa"));
}

#[test]
fn a_gpu_failure_names_the_restricting_variable_and_suggests_info() {
    // Vulkan with its loader pointed at no driver: no adapter at all.
    let case = case("gru_mid");
    let dir = tempdir("hint");
    let out_path = dir.join("o.safetensors");
    let env = [
        ("WGPU_BACKEND", "vulkan"),
        ("VK_DRIVER_FILES", "/nonexistent.json"),
        ("VK_ICD_FILENAMES", "/nonexistent.json"),
    ];
    let run = wgpu_rnn(&env, &run_args(&case, &out_path, "gpu"));
    assert_one_line_error(
        &run,
        "run --device gpu",
        &["WGPU_BACKEND=vulkan (unset it", "wgpu-rnn info"],
    );
    let info = wgpu_rnn(&env, &["info".as_ref()]);
    assert_one_line_error(&info, "info", &["WGPU_BACKEND=vulkan; unset it"]);
    assert!(!String::from_utf8_lossy(&info.stderr).contains("Mesa"));
    std::fs::remove_dir_all(&dir).unwrap();
}
