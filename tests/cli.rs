//! The `wgpu-rnn` binary: reproduces every PyTorch fixture through files, and on every bad input
//! exits non-zero with one line on stderr and no output file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fixtures;

fn wgpu_rnn(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgpu-rnn"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn run(model: &Path, input: &Path, output: &Path, device: &str) -> Output {
    wgpu_rnn(&[
        "run".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
        "--device".as_ref(),
        device.as_ref(),
    ])
}

fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reads an f32 output file: (name, shape, values).
fn read_outputs(path: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<_> = file
        .iter()
        .map(|(n, v)| {
            assert_eq!(v.dtype(), safetensors::Dtype::F32);
            let values = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (n.to_string(), v.shape().to_vec(), values)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn run_on_cpu_reproduces_every_fixture() {
    let dir = tempdir("fixtures");
    for case in fixtures::all() {
        let out_path = dir.join(format!("{}.out.safetensors", case.name));
        let out = run(&case.model, &case.input, &out_path, "cpu");
        assert!(
            out.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let got = read_outputs(&out_path);
        let want = fixtures::expected(&case.expected);
        assert_eq!(
            got.iter().map(|g| &g.0).collect::<Vec<_>>(),
            want.iter().map(|w| &w.0).collect::<Vec<_>>(),
            "{}: tensor names",
            case.name
        );
        for ((name, shape, values), (_, expected)) in got.iter().zip(&want) {
            let err = fixtures::max_rel_err(shape, values, expected)
                .unwrap_or_else(|e| panic!("{} {name}: {e}", case.name));
            assert!(err <= 1e-6, "{} {name}: error {err:e}", case.name);
        }
    }
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
