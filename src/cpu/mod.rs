//! The fast CPU path: PyTorch's forward in f32 on the host's cores, for machines without a GPU
//! (and the browser's fallback). Within 1e-5 of the f64 [`crate::reference`] on every fixture.
//!
//! Per layer, one GEMM projects the whole input for every time step and both directions
//! (`x·W_ihᵀ`, the `gemm` crate, threaded over rayon's pool). The recurrence is then split into
//! independent units, one per (direction, slice of batch rows), run on rayon's threads with no
//! synchronisation between steps; each unit runs, per step, one gate GEMM of its rows
//! (`h_{t-1}·W_hhᵀ`, weights pre-transposed once) and one fused pass that adds the projection
//! and biases, applies the nonlinearities and updates `h` (and `c`) while the gates are in cache
//! (`step.rs`). An LSTM projection adds `u·W_hrᵀ` per step.
//!
//! The path builds for `wasm32-unknown-unknown`, where rayon runs everything on the calling
//! thread; with `-C target-feature=+simd128` the pointwise loops vectorize to SIMD128 (`gemm`'s
//! own SIMD128 kernels sit behind its `wasm-simd128-enable` feature, for the browser build to
//! turn on).
//!
//! ```
//! use wgpu_rnn::{CpuModel, ForwardInput, Model, RnnConfig, Tensor};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let lstm = Model::new(RnnConfig::lstm(5, 7).with_num_layers(2), &mut rng)?;
//! let fast = CpuModel::new(&lstm); // packs the weights once
//! let x = Tensor::new([3, 2, 5], vec![0.5; 30])?; // (T, N, I)
//! let out = fast.forward(&ForwardInput::new(&x))?;
//! let exact = lstm.forward_reference(&ForwardInput::new(&x))?;
//! for (a, b) in out.output.data().iter().zip(exact.output.data()) {
//!     assert!((a - b).abs() <= 1e-5);
//! }
//! # Ok::<(), wgpu_rnn::Error>(())
//! ```

mod math;
mod matmul;
mod pack;
mod step;

use std::ops::Range;

use rayon::prelude::*;

use crate::config::{Family, RnnConfig};
use crate::error::Result;
use crate::forward::{ForwardInput, ForwardOutput, Prepared};
use crate::model::Model;
use crate::reference::check_host_bytes;
use matmul::matmul;
use pack::{PackedDirection, PackedLayer};
use step::{Active, gru_step, lstm_step, rnn_step};

/// Products smaller than this many FLOPs run on one thread (a rayon hand-off costs more).
const PARALLEL_GEMM_FLOPS: usize = 4_000_000;

/// A model with its weights packed for the fast CPU path. Shapes, validation and errors as
/// [`Model::forward_reference`]; numbers within 1e-5 of it.
#[derive(Clone, Debug)]
pub struct CpuModel {
    config: RnnConfig,
    layers: Vec<PackedLayer>,
}

/// One independent piece of a layer's recurrence: a direction and a slice of batch rows.
#[derive(Clone, Debug)]
struct Unit {
    dir: usize,
    rows: Range<usize>,
}

/// A unit's results: every step's `h` (T, m, H_out) (0 past a row's length), and the final
/// `h` (m, H_out) and, for LSTM, `c` (m, H).
struct UnitOut {
    out: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
}

impl CpuModel {
    /// Packs `model`'s weights (transposed for the GEMMs, biases pre-summed).
    pub fn new(model: &Model) -> Self {
        Self {
            config: model.config().clone(),
            layers: pack::pack(model),
        }
    }

    /// The model's configuration.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// Runs the model; arguments and results in PyTorch's shapes, as documented on
    /// [`ForwardInput`] and [`ForwardOutput`].
    pub fn forward(&self, args: &ForwardInput<'_>) -> Result<ForwardOutput> {
        let config = &self.config;
        if !config.is_pytorch() {
            return Err(crate::error::Error::Unsupported(format!(
                "{config} on the fast CPU path: it computes PyTorch's semantics only so far; run it on the CPU reference"
            )));
        }
        let prepared = Prepared::new(config, args)?;
        check_host_bytes(working_bytes(config, &prepared), || {
            format!(
                "the fast CPU forward of {config} on T={} N={}",
                prepared.seq_len, prepared.batch
            )
        })?;
        let (output, h_n, c_n) = self.forward_prepared(&prepared);
        Ok(prepared.finish(config, output, h_n, c_n))
    }

    /// Runs a validated call: output (T_out, N, D·H_out), h_n (D·L, N, H_out), c_n (D·L, N, H).
    fn forward_prepared(&self, p: &Prepared) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
        let config = &self.config;
        let (t_len, n) = (p.seq_len, p.batch);
        let (dirs, hidden, h_out) = (
            config.num_directions(),
            config.hidden_size,
            config.output_hidden(),
        );
        let gh = config.gate_count() * hidden;
        let width = dirs * h_out;
        let lstm = config.family() == Family::Lstm;
        let threads = threads();
        let units = split_units(dirs, n, threads);

        let mut h_n = vec![0.0; config.num_groups() * n * h_out];
        let mut c_n = vec![
            0.0;
            if lstm {
                config.num_groups() * n * hidden
            } else {
                0
            }
        ];
        let mut layer_out = Vec::new();
        for (layer, packed) in self.layers.iter().enumerate() {
            let layer_in = if layer == 0 { &p.x } else { &layer_out };
            let (rows, k, cols) = (t_len * n, packed.input_width, dirs * gh);
            let mut gx = vec![0.0; rows * cols];
            let gemm_threads = if 2 * rows * k * cols >= PARALLEL_GEMM_FLOPS {
                threads
            } else {
                1
            };
            matmul(
                (rows, k, cols),
                layer_in,
                k,
                &packed.w_ih,
                &mut gx,
                cols,
                gemm_threads,
            );

            let run = |unit: &Unit| self.run_unit(layer, &packed.dirs[unit.dir], p, &gx, unit);
            let results: Vec<UnitOut> = if units.len() == 1 {
                vec![run(&units[0])]
            } else {
                units.par_iter().map(run).collect()
            };

            let mut out = vec![0.0; rows * width];
            for (unit, result) in units.iter().zip(results) {
                let m = unit.rows.len();
                for t in 0..t_len {
                    for (r, row) in unit.rows.clone().enumerate() {
                        let dst = (t * n + row) * width + unit.dir * h_out;
                        out[dst..dst + h_out]
                            .copy_from_slice(&result.out[(t * m + r) * h_out..][..h_out]);
                    }
                }
                let group = layer * dirs + unit.dir;
                let state = (group * n + unit.rows.start) * h_out;
                h_n[state..state + m * h_out].copy_from_slice(&result.h);
                if lstm {
                    let cell = (group * n + unit.rows.start) * hidden;
                    c_n[cell..cell + m * hidden].copy_from_slice(&result.c);
                }
            }
            layer_out = out;
        }
        layer_out.truncate(p.output_steps() * n * width);
        (layer_out, h_n, lstm.then_some(c_n))
    }

    /// Runs one unit of `layer` over all its steps. `gx` (T, N, D·G·H) is the layer's input
    /// projection without bias.
    fn run_unit(
        &self,
        layer: usize,
        d: &PackedDirection,
        p: &Prepared,
        gx: &[f32],
        unit: &Unit,
    ) -> UnitOut {
        let config = &self.config;
        let (n, dirs, dir) = (p.batch, config.num_directions(), unit.dir);
        let (hidden, h_out) = (config.hidden_size, config.output_hidden());
        let gh = config.gate_count() * hidden;
        let m = unit.rows.len();
        let group = layer * dirs + dir;
        let first = group * n + unit.rows.start;
        let mut h = p.h0[first * h_out..][..m * h_out].to_vec();
        let family = config.family();
        let mut c = match family {
            Family::Lstm => p.c0[first * hidden..][..m * hidden].to_vec(),
            Family::Rnn | Family::Gru => Vec::new(),
        };
        let projected = !d.w_hr.is_empty();
        let mut u = vec![0.0; if projected { m * hidden } else { 0 }];
        let mut hp = vec![0.0; if projected { m * h_out } else { 0 }];
        let mut pre = vec![0.0; m * gh];
        let mut out = vec![0.0; p.seq_len * m * h_out];
        let lengths: Vec<usize> = unit.rows.clone().map(|row| p.length(row)).collect();
        let steps = lengths.iter().copied().max().unwrap_or(0);
        let mut active = Vec::with_capacity(m);
        let mut times = Vec::with_capacity(m);
        for s in 0..steps {
            active.clear();
            times.clear();
            for (r, &len) in lengths.iter().enumerate() {
                if s < len {
                    // The reverse direction starts at each row's own last step.
                    let t = if dir == 0 { s } else { len - 1 - s };
                    let row = unit.rows.start + r;
                    active.push(Active {
                        row: r,
                        gx: ((t * n + row) * dirs + dir) * gh,
                    });
                    times.push(t);
                }
            }
            matmul((m, h_out, gh), &h, h_out, &d.w_hh, &mut pre, gh, 1);
            match family {
                Family::Rnn => rnn_step(
                    &active,
                    &pre,
                    gx,
                    &d.bias,
                    &mut h,
                    hidden,
                    config.nonlinearity,
                ),
                Family::Gru => gru_step(&active, &pre, gx, &d.bias, &d.b_hn, &mut h, hidden),
                Family::Lstm if !projected => {
                    lstm_step(&active, &pre, gx, &d.bias, &mut c, &mut h, hidden)
                }
                Family::Lstm => {
                    lstm_step(&active, &pre, gx, &d.bias, &mut c, &mut u, hidden);
                    // h = u·W_hrᵀ for the active rows; a finished row keeps its state.
                    matmul((m, hidden, h_out), &u, hidden, &d.w_hr, &mut hp, h_out, 1);
                    for a in &active {
                        h[a.row * h_out..][..h_out].copy_from_slice(&hp[a.row * h_out..][..h_out]);
                    }
                }
            }
            for (a, &t) in active.iter().zip(&times) {
                out[(t * m + a.row) * h_out..][..h_out]
                    .copy_from_slice(&h[a.row * h_out..][..h_out]);
            }
        }
        UnitOut { out, h, c }
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// The host's f32 GEMM peak in GFLOP/s as the fast CPU path reaches it: the median of 5
/// products of 1024×1024 by 1024×1024 through the same `gemm` call, on all of its threads.
pub fn gemm_peak_gflops() -> f64 {
    matmul::measure_gflops((1024, 1024, 1024), threads(), 5)
}

/// The threads the fast CPU path runs on: rayon's global pool (`RAYON_NUM_THREADS`, else one
/// per core).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// The units of a layer: per direction, `threads / D` (at least 1, at most N) slices of batch rows.
fn split_units(dirs: usize, batch: usize, threads: usize) -> Vec<Unit> {
    let slices = (threads / dirs).clamp(1, batch);
    (0..dirs)
        .flat_map(|dir| {
            (0..slices).map(move |k| Unit {
                dir,
                rows: batch * k / slices..batch * (k + 1) / slices,
            })
        })
        .collect()
}

/// Bytes the fast forward allocates for a call (f32): the input, one layer's input projection
/// (T, N, D·G·H), two layers' outputs and the units' copies (T, N, D·H_out).
pub fn working_bytes(config: &RnnConfig, p: &Prepared) -> u128 {
    let rows = p.seq_len as u128 * p.batch as u128;
    let dirs = config.num_directions() as u128;
    let gates = (config.gate_count() * config.hidden_size) as u128;
    let width = dirs * config.output_hidden() as u128;
    4 * rows * (config.input_size as u128 + dirs * gates + 3 * width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_cover_every_row_and_direction_once() {
        for (dirs, batch, threads) in [
            (1, 1, 2),
            (1, 7, 2),
            (2, 5, 2),
            (2, 3, 8),
            (1, 3, 8),
            (1, 4, 1),
        ] {
            let units = split_units(dirs, batch, threads);
            for dir in 0..dirs {
                let mut rows: Vec<usize> = units
                    .iter()
                    .filter(|u| u.dir == dir)
                    .flat_map(|u| u.rows.clone())
                    .collect();
                rows.sort();
                assert_eq!(
                    rows,
                    (0..batch).collect::<Vec<_>>(),
                    "{dirs} {batch} {threads}"
                );
            }
            assert!(units.iter().all(|u| !u.rows.is_empty()));
            assert!(units.len() <= (threads.max(dirs)).max(1));
        }
    }
}
