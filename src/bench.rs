//! Benchmark arithmetic and timing: the FLOP count of a forward, repeated timing with warm-up,
//! and the summary the `bench` command prints.

use std::time::Instant;

use crate::config::RnnConfig;

/// FLOPs of one forward over `seq_len` steps and `batch` rows: per layer and direction
/// `2·T·N·G·H·(I_l + H_out)`, plus `2·T·N·P·H` for an LSTM projection. Without a projection this
/// is the usual `2·T·N·G·H·(I + H)`; elementwise work (<1%) is not counted.
pub fn forward_flops(config: &RnnConfig, seq_len: usize, batch: usize) -> f64 {
    let (t, n) = (seq_len as f64, batch as f64);
    let g = config.gate_count() as f64;
    let h = config.hidden_size as f64;
    let h_out = config.output_hidden() as f64;
    let dirs = config.num_directions() as f64;
    (0..config.num_layers)
        .map(|layer| {
            let i = config.layer_input_size(layer) as f64;
            let projection = if config.proj_size > 0 {
                2.0 * t * n * h_out * h
            } else {
                0.0
            };
            dirs * (2.0 * t * n * g * h * (i + h_out) + projection)
        })
        .sum()
}

/// Timings of repeated runs, in milliseconds.
#[derive(Clone, Debug)]
pub struct Timings {
    /// Each timed run's wall-clock milliseconds, in run order.
    pub runs_ms: Vec<f64>,
}

impl Timings {
    /// Runs `f` `warmup` times untimed, then `iters` times timed. Stops at the first error.
    pub fn measure<E>(
        warmup: usize,
        iters: usize,
        mut f: impl FnMut() -> Result<(), E>,
    ) -> Result<Self, E> {
        for _ in 0..warmup {
            f()?;
        }
        let mut runs_ms = Vec::with_capacity(iters);
        for _ in 0..iters {
            let start = Instant::now();
            f()?;
            runs_ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        Ok(Self { runs_ms })
    }

    /// The median run (the mean of the middle two for an even count).
    pub fn median_ms(&self) -> f64 {
        let mut v = self.runs_ms.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    /// The fastest run.
    pub fn min_ms(&self) -> f64 {
        self.runs_ms.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// The peak resident memory of this process in bytes (Linux `VmHWM`), if the platform tells.
pub fn host_peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_follow_the_formula() {
        // One LSTM layer: 2·T·N·4H·(I+H).
        let lstm = RnnConfig::lstm(256, 256);
        assert_eq!(
            forward_flops(&lstm, 100, 32),
            2.0 * 100.0 * 32.0 * 1024.0 * 512.0
        );
        // Two bidirectional GRU layers: layer 1 sees 2H inputs.
        let gru = RnnConfig::gru(10, 20)
            .with_num_layers(2)
            .with_bidirectional(true);
        let want = 2.0 * (2.0 * 5.0 * 3.0 * 60.0 * 30.0) + 2.0 * (2.0 * 5.0 * 3.0 * 60.0 * 60.0);
        assert_eq!(forward_flops(&gru, 5, 3), want);
        // A projection adds its own matmul and shrinks the recurrent one.
        let proj = RnnConfig::lstm(8, 16).with_proj_size(4);
        let want = 2.0 * 7.0 * 2.0 * 64.0 * 12.0 + 2.0 * 7.0 * 2.0 * 4.0 * 16.0;
        assert_eq!(forward_flops(&proj, 7, 2), want);
    }

    #[test]
    fn median_and_min() {
        let t = Timings {
            runs_ms: vec![5.0, 1.0, 3.0, 9.0],
        };
        assert_eq!(t.median_ms(), 4.0);
        assert_eq!(t.min_ms(), 1.0);
        let odd = Timings {
            runs_ms: vec![2.0, 7.0, 3.0],
        };
        assert_eq!(odd.median_ms(), 3.0);
    }
}
