//! Reading the CLI's output files and collecting comparisons against expectations.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this shared file"
)]

use std::path::{Path, PathBuf};

use super::fixtures::{Expected, max_rel_err};

/// A fresh directory under the system's temporary directory for test `tag` of this process.
pub fn tempdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reads an f32 output file: (name, shape, values), sorted by name.
pub fn read_outputs(path: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<_> = file
        .iter()
        .map(|(n, v)| {
            assert_eq!(v.dtype(), safetensors::Dtype::F32, "{n}");
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

/// Comparisons of many tensors against expectations: the failures and the worst error seen.
pub struct Tally {
    tolerance: f64,
    failures: Vec<String>,
    worst: (f64, String),
    count: usize,
}

impl Tally {
    pub fn new(tolerance: f64) -> Self {
        Self {
            tolerance,
            failures: Vec::new(),
            worst: (0.0, String::new()),
            count: 0,
        }
    }

    /// Compares `got` (of shape `shape`) with `want`, relative to max(1, |want|).
    pub fn check(&mut self, label: &str, shape: &[usize], got: &[f32], want: &Expected) {
        self.count += 1;
        match max_rel_err(shape, got, want) {
            Ok(err) if err <= self.tolerance => {
                if err > self.worst.0 {
                    self.worst = (err, label.to_string());
                }
            }
            Ok(err) => self.failures.push(format!("{label}: error {err:e}")),
            Err(e) => self.failures.push(format!("{label}: {e}")),
        }
    }

    /// Fails with every failure listed, else prints how many tensors of `what` matched.
    pub fn finish(self, what: &str) {
        assert!(
            self.failures.is_empty(),
            "{} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        eprintln!(
            "{what}: {} tensors match within {:e} (worst {:.2e}, {})",
            self.count, self.tolerance, self.worst.0, self.worst.1
        );
    }
}

/// Holds the f32 output file at `path` to the float64 expectation file `expected`: the same
/// tensor names, each within `tolerance` relative to max(1, |expected|).
pub fn assert_file_matches(label: &str, path: &Path, expected: &Path, tolerance: f64) {
    let got = read_outputs(path);
    let want = super::fixtures::expected(expected);
    assert_eq!(
        got.iter().map(|g| &g.0).collect::<Vec<_>>(),
        want.iter().map(|w| &w.0).collect::<Vec<_>>(),
        "{label}: tensor names"
    );
    for ((name, shape, values), (_, expected)) in got.iter().zip(&want) {
        let err =
            max_rel_err(shape, values, expected).unwrap_or_else(|e| panic!("{label} {name}: {e}"));
        assert!(err <= tolerance, "{label} {name}: error {err:e}");
    }
}

/// Compares the losses and parameters of a trajectory with the fixture's.
pub fn check_trajectory(
    tally: &mut Tally,
    case: &super::fixtures::TrainFixture,
    losses: &[f64],
    first: &wgpu_rnn::Model,
    last: &wgpu_rnn::Model,
) {
    for (name, want) in &case.expected {
        let label = format!("{} {name}", case.name);
        if name == "loss" {
            let got: Vec<f32> = losses.iter().map(|&l| l as f32).collect();
            tally.check(&label, &[got.len()], &got, want);
            continue;
        }
        let (model, param) = match name.strip_prefix("step1.") {
            Some(param) => (first, param),
            None => (last, name.as_str()),
        };
        let dict = model.state_dict();
        let t: &wgpu_rnn::Tensor = dict.iter().find(|(n, _)| n == param).unwrap().1;
        tally.check(&label, t.shape(), t.data(), want);
    }
}
