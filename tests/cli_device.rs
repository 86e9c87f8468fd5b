//! The CLI under wgpu's environment variables: a `WGPU_ADAPTER_NAME` or `WGPU_BACKEND` that no
//! adapter satisfies is one line and exit 1 under `--device gpu` (never a panic), and `--device
//! auto` falls back to the CPU with a notice. None of these needs a GPU.

mod common;

use std::ffi::OsStr;

use common::cli::{assert_one_line_error, run, wgpu_rnn};
use common::fixtures;
use common::outputs::tempdir;

const NO_SUCH_ADAPTER: (&str, &str) = ("WGPU_ADAPTER_NAME", "no-such-adapter-xyz");

#[test]
fn an_adapter_name_nothing_matches_is_one_line_and_exit_1_on_every_gpu_command() {
    let case = fixtures::named("lstm_mid");
    let dir = tempdir("device-name");
    let out_path = dir.join("o.safetensors");
    let run = run(
        &[NO_SUCH_ADAPTER],
        &case.model,
        &case.input,
        &out_path,
        "gpu",
    );
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
    let case = fixtures::named("lstm_mid");
    let dir = tempdir("device-auto");
    let out_path = dir.join("o.safetensors");
    let run = run(
        &[NO_SUCH_ADAPTER],
        &case.model,
        &case.input,
        &out_path,
        "auto",
    );
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
    let case = fixtures::named("gru_mid");
    let dir = tempdir("device-vulcan");
    let out_path = dir.join("o.safetensors");
    let env = [("WGPU_BACKEND", "vulcan")];
    let info = wgpu_rnn(&env, &["info".as_ref()]);
    assert_one_line_error(
        &info,
        "info",
        &["WGPU_BACKEND=vulcan", "unknown backend name 'vulcan'"],
    );
    assert!(!String::from_utf8_lossy(&info.stderr).contains("Mesa"));
    let run = run(&env, &case.model, &case.input, &out_path, "gpu");
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
    let case = fixtures::named("gru_mid");
    let dir = tempdir("device-hint");
    let out_path = dir.join("o.safetensors");
    let env = [
        ("WGPU_BACKEND", "vulkan"),
        ("VK_DRIVER_FILES", "/nonexistent.json"),
        ("VK_ICD_FILENAMES", "/nonexistent.json"),
    ];
    let run = run(&env, &case.model, &case.input, &out_path, "gpu");
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
