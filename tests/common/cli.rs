//! Running the `wgpu-rnn` binary in tests: the command with wgpu's variables cleared, `run`'s
//! arguments, and the check of a one-line error.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this shared file"
)]

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `args`, `env` set and wgpu's other variables cleared.
pub fn wgpu_rnn(env: &[(&str, &str)], args: &[&OsStr]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"));
    for var in ["WGPU_BACKEND", "WGPU_ADAPTER_NAME", "WGPU_POWER_PREF"] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.args(args).output().expect("the binary runs")
}

/// `run --model M --input I --output O --device D`.
pub fn run_args(model: &Path, input: &Path, output: &Path, device: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    for (flag, value) in [
        ("--model", model.as_os_str()),
        ("--input", input.as_os_str()),
        ("--output", output.as_os_str()),
        ("--device", device.as_ref()),
    ] {
        args.extend([flag.into(), value.to_owned()]);
    }
    args.insert(0, "run".into());
    args
}

/// `run` with [`run_args`] under `env`.
pub fn run(
    env: &[(&str, &str)],
    model: &Path,
    input: &Path,
    output: &Path,
    device: &str,
) -> Output {
    let args = run_args(model, input, output, device);
    wgpu_rnn(
        env,
        &args.iter().map(OsString::as_os_str).collect::<Vec<_>>(),
    )
}

/// Exit 1 and exactly one line, `wgpu-rnn: error: ...`, containing every one of `needles`.
pub fn assert_one_line_error(out: &Output, label: &str, needles: &[&str]) {
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
