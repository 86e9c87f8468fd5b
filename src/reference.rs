//! The CPU reference forward: PyTorch's equations computed in f64 (f32 weights and inputs, every
//! product, sum and state in f64), so it is more exact than any f32 path and serves as the yardstick
//! for the GPU kernels.
//!
//! It is organised like the GPU path, and its functions carry the GPU kernels' names:
//! [`input_projection`] (all time steps at once), then one of [`rnn_step`], [`lstm_step`] (with
//! [`lstm_projection`] when `proj_size > 0`) or [`gru_step`] per step and batch row.
//!
//! It computes the semantics beyond PyTorch's too (activations, clip, peepholes, coupled forget
//! gate, GRU reset before the recurrent product, reverse direction, ONNX's length rule): each
//! step reads them from a [`StepRule`].

use crate::activation::Activations;
use crate::config::{Family, RnnConfig};
use crate::error::{Error, Result};
use crate::forward::{ForwardInput, ForwardOutput, Prepared};
use crate::model::{LayerParams, Model};

/// Runs `model` on `args` on the CPU. Shapes as documented on [`ForwardInput`] and [`ForwardOutput`].
pub fn forward(model: &Model, args: &ForwardInput<'_>) -> Result<ForwardOutput> {
    let config = model.config();
    let prepared = Prepared::new(config, args)?;
    check_host_memory(config, &prepared)?;
    let (output, h_n, c_n) = forward_prepared(model, &prepared);
    Ok(prepared.finish(
        config,
        output.into_iter().map(|v| v as f32).collect(),
        h_n.into_iter().map(|v| v as f32).collect(),
        c_n.map(|c| c.into_iter().map(|v| v as f32).collect()),
    ))
}

/// Bytes the reference forward allocates for a call: one layer's f64 input and output
/// (T, N, D·H_out) and input projection (T, N, G·H), plus the f32 results.
pub fn working_bytes(config: &RnnConfig, p: &Prepared) -> u128 {
    let rows = p.seq_len as u128 * p.batch as u128;
    let width = (config.num_directions() * config.output_hidden()) as u128;
    let widest_in = (config.input_size as u128).max(width);
    let gates = (config.gate_count() * config.hidden_size) as u128;
    rows * (8 * (widest_in + width + gates) + 4 * width)
}

/// Refuses a call whose working memory exceeds what the host has available, before allocating.
fn check_host_memory(config: &RnnConfig, p: &Prepared) -> Result<()> {
    let what = || {
        format!(
            "the CPU forward of {config} on T={} N={}",
            p.seq_len, p.batch
        )
    };
    check_host_bytes(working_bytes(config, p), what)
}

/// Refuses to allocate `bytes` when the host has less available; `what` names the work.
pub(crate) fn check_host_bytes(bytes: u128, what: impl FnOnce() -> String) -> Result<()> {
    match host_memory_available() {
        Some(limit) if bytes > limit as u128 => Err(Error::TooLarge {
            what: what(),
            bytes,
            limit: limit as u128,
        }),
        _ => Ok(()),
    }
}

/// Memory the host can still give (Linux `MemAvailable`), if the platform tells.
fn host_memory_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Runs a validated call; returns, in f64, output (T_out, N, D·H_out), h_n (D·L, N, H_out) and
/// c_n (D·L, N, H) for LSTM.
pub fn forward_prepared(model: &Model, p: &Prepared) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    forward_recorded(model, p, None)
}

/// What a forward keeps for the reference backward, all f64 and time-major.
#[derive(Clone, Debug, Default)]
pub(crate) struct Trace {
    /// Per layer, its input (T, N, I_l).
    pub layer_inputs: Vec<Vec<f64>>,
    /// Per (layer, direction) group, the input projection `x·W_ihᵀ + b_ih` (T, N, G·H).
    pub gates_x: Vec<Vec<f64>>,
    /// Per group, the hidden state each step started from (T, N, H_out), indexed by the step's
    /// time index (for the reverse direction too); 0 at steps past a row's length.
    pub h_prev: Vec<Vec<f64>>,
    /// Per group, the cell state each step started from (T, N, H) for LSTM; empty otherwise.
    pub c_prev: Vec<Vec<f64>>,
}

/// [`forward_prepared`], also filling `trace` (from empty) when given.
pub(crate) fn forward_recorded(
    model: &Model,
    p: &Prepared,
    mut trace: Option<&mut Trace>,
) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    let config = model.config();
    let (t_len, n_rows) = (p.seq_len, p.batch);
    let (h, h_out) = (config.hidden_size, config.output_hidden());
    let dirs = config.num_directions();
    let width = dirs * h_out;
    let lstm = config.family() == Family::Lstm;

    let mut layer_in: Vec<f64> = p.x.iter().map(|&v| v as f64).collect();
    let mut h_n = vec![0.0; config.num_groups() * n_rows * h_out];
    let mut c_n = vec![
        0.0;
        if lstm {
            config.num_groups() * n_rows * h
        } else {
            0
        }
    ];
    for layer in 0..config.num_layers {
        let in_width = config.layer_input_size(layer);
        let mut layer_out = vec![0.0; t_len * n_rows * width];
        for dir in 0..dirs {
            let group = layer * dirs + dir;
            let params = model.group(layer, dir);
            let rule = StepRule::new(config, dir);
            let reversed = config.is_reversed(dir);
            let gates_x = input_projection(params, &layer_in, t_len * n_rows, in_width);
            let g_width = config.gate_count() * h;
            let (mut h_prev, mut c_prev) = match trace {
                Some(_) => (
                    vec![0.0; t_len * n_rows * h_out],
                    vec![0.0; if lstm { t_len * n_rows * h } else { 0 }],
                ),
                None => (Vec::new(), Vec::new()),
            };
            for n in 0..n_rows {
                let state = (group * n_rows + n) * h_out;
                let mut hs: Vec<f64> = p.h0[state..state + h_out]
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                let cell = (group * n_rows + n) * h;
                let mut cs: Vec<f64> = if lstm {
                    p.c0[cell..cell + h].iter().map(|&v| v as f64).collect()
                } else {
                    Vec::new()
                };
                let len = p.length(n);
                for s in 0..len {
                    let t = if reversed { len - 1 - s } else { s };
                    if trace.is_some() {
                        h_prev[(t * n_rows + n) * h_out..][..h_out].copy_from_slice(&hs);
                        c_prev[(t * n_rows + n) * cs.len()..][..cs.len()].copy_from_slice(&cs);
                    }
                    let gx = &gates_x[(t * n_rows + n) * g_width..][..g_width];
                    match config.family() {
                        Family::Rnn => rnn_step(&rule, params, gx, &mut hs),
                        Family::Lstm => lstm_step(&rule, params, gx, &mut hs, &mut cs),
                        Family::Gru => gru_step(&rule, params, gx, &mut hs),
                    }
                    let o = (t * n_rows + n) * width + dir * h_out;
                    layer_out[o..o + h_out].copy_from_slice(&hs);
                }
                if len == 0 {
                    // LengthRule::Padded: a zero-length row ends with zero states, as
                    // onnxruntime's LSTM and GRU give it (not its initial state).
                    hs.fill(0.0);
                    cs.fill(0.0);
                }
                h_n[state..state + h_out].copy_from_slice(&hs);
                if lstm {
                    c_n[cell..cell + h].copy_from_slice(&cs);
                }
            }
            if let Some(trace) = trace.as_deref_mut() {
                trace.gates_x.push(gates_x);
                trace.h_prev.push(h_prev);
                trace.c_prev.push(c_prev);
            }
        }
        if let Some(trace) = trace.as_deref_mut() {
            trace.layer_inputs.push(layer_in);
        }
        layer_in = layer_out;
    }
    layer_in.truncate(p.output_steps() * n_rows * width);
    (layer_in, h_n, lstm.then_some(c_n))
}

/// `x · W_ihᵀ + b_ih` for `rows` input rows of width `in_width` (all time steps and batch rows
/// at once): x (rows, I_l) → (rows, G·H).
pub fn input_projection(params: &LayerParams, x: &[f64], rows: usize, in_width: usize) -> Vec<f64> {
    let w = params.weight_ih.data();
    let g_width = params.weight_ih.shape()[0];
    let mut out = vec![0.0; rows * g_width];
    for r in 0..rows {
        let xr = &x[r * in_width..(r + 1) * in_width];
        for (j, o) in out[r * g_width..(r + 1) * g_width].iter_mut().enumerate() {
            let bias = params.bias_ih.as_ref().map_or(0.0, |b| b.data()[j] as f64);
            *o = dot(&w[j * in_width..(j + 1) * in_width], xr) + bias;
        }
    }
    out
}

/// What one direction's step computes besides its weights, read once from the configuration.
/// PyTorch's rule: sigmoid gates, tanh (or relu) candidate, tanh cell, no clip, `f` its own gate,
/// the GRU reset gate applied after `W_hn h + b_hn`. Peepholes are [`LayerParams::peephole`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRule {
    /// The direction's activations.
    pub activations: Activations,
    /// Gate pre-activations clamped to `[-clip, clip]`.
    pub clip: Option<f64>,
    /// LSTM `f = 1 − i`.
    pub coupled_forget: bool,
    /// GRU: `r ⊙ (W_hn h + b_hn)` (true) or `W_hn (r ⊙ h) + b_hn` (false).
    pub reset_after: bool,
}

impl StepRule {
    /// The rule of `config`'s direction `direction`.
    pub fn new(config: &RnnConfig, direction: usize) -> Self {
        Self {
            activations: config.activations(direction),
            clip: config.clip.map(f64::from),
            coupled_forget: config.coupled_forget,
            reset_after: config.reset_after,
        }
    }

    /// A pre-activation after the clip.
    fn clip(&self, x: f64) -> f64 {
        match self.clip {
            Some(c) => x.clamp(-c, c),
            None => x,
        }
    }

    /// `gate(clip(x))`.
    fn gate(&self, x: f64) -> f64 {
        self.activations.gate.apply(self.clip(x))
    }

    /// `candidate(clip(x))`.
    fn candidate(&self, x: f64) -> f64 {
        self.activations.candidate.apply(self.clip(x))
    }
}

/// One RNN step for one batch row: `h ← act(clip(gx + W_hh h + b_hh))`. gx (H), h (H).
pub fn rnn_step(rule: &StepRule, params: &LayerParams, gx: &[f64], h: &mut [f64]) {
    let pre = recurrent_gates(params, gx, h);
    for (hj, &a) in h.iter_mut().zip(&pre) {
        *hj = rule.candidate(a);
    }
}

/// One LSTM step for one batch row, gates i, f, g, o: `c ← f·c + i·g`, `h ← o·cell(c)`, then
/// `h ← W_hr h` with a projection. With peepholes p (i, f, o), `i` and `f` add `p ⊙ c` before the
/// update and `o` after it; with a coupled forget gate, `f = 1 − i`. gx (4H), h (H_out), c (H).
pub fn lstm_step(rule: &StepRule, params: &LayerParams, gx: &[f64], h: &mut [f64], c: &mut [f64]) {
    let hidden = c.len();
    let pre = recurrent_gates(params, gx, h);
    let peep = |gate: usize, j: usize, c: f64| {
        params
            .peephole
            .as_ref()
            .map_or(0.0, |p| f64::from(p.data()[gate * hidden + j]) * c)
    };
    let mut full = vec![0.0; hidden];
    for j in 0..hidden {
        let i = rule.gate(pre[j] + peep(0, j, c[j]));
        let f = if rule.coupled_forget {
            1.0 - i
        } else {
            rule.gate(pre[hidden + j] + peep(1, j, c[j]))
        };
        let g = rule.candidate(pre[2 * hidden + j]);
        c[j] = f * c[j] + i * g;
        let o = rule.gate(pre[3 * hidden + j] + peep(2, j, c[j]));
        full[j] = o * rule.activations.cell.apply(c[j]);
    }
    match &params.weight_hr {
        Some(w_hr) => lstm_projection(w_hr.data(), &full, h),
        None => h.copy_from_slice(&full),
    }
}

/// The LSTM projection for one batch row: `h ← W_hr · full`, `W_hr` (P, H) row-major,
/// full = o·tanh(c) (H), h (P).
pub fn lstm_projection(w_hr: &[f32], full: &[f64], h: &mut [f64]) {
    let hidden = full.len();
    for (p, hp) in h.iter_mut().enumerate() {
        *hp = dot(&w_hr[p * hidden..(p + 1) * hidden], full);
    }
}

/// One GRU step for one batch row, gates r, z, n: `n = tanh(gx_n + r·(W_hn h + b_hn))` (or,
/// without `reset_after`, `n = tanh(gx_n + W_hn (r·h) + b_hn)`), `h ← (1 − z)·n + z·h`.
/// gx (3H), h (H).
pub fn gru_step(rule: &StepRule, params: &LayerParams, gx: &[f64], h: &mut [f64]) {
    let hidden = h.len();
    let gh = hidden_gates(params, h);
    let r: Vec<f64> = (0..hidden).map(|j| rule.gate(gx[j] + gh[j])).collect();
    let hn = if rule.reset_after {
        (0..hidden).map(|j| r[j] * gh[2 * hidden + j]).collect()
    } else {
        let rh: Vec<f64> = (0..hidden).map(|j| r[j] * h[j]).collect();
        reset_hidden_gate(params, &rh)
    };
    for j in 0..hidden {
        let z = rule.gate(gx[hidden + j] + gh[hidden + j]);
        let n = rule.candidate(gx[2 * hidden + j] + hn[j]);
        h[j] = (1.0 - z) * n + z * h[j];
    }
}

/// The GRU's `W_hn (r·h) + b_hn` without `reset_after`: rh = r·h (H) → (H).
fn reset_hidden_gate(params: &LayerParams, rh: &[f64]) -> Vec<f64> {
    let hidden = rh.len();
    let w = &params.weight_hh.data()[2 * hidden * hidden..];
    (0..hidden)
        .map(|j| {
            let bias = params
                .bias_hh
                .as_ref()
                .map_or(0.0, |b| f64::from(b.data()[2 * hidden + j]));
            dot(&w[j * hidden..(j + 1) * hidden], rh) + bias
        })
        .collect()
}

/// `W_hh h + b_hh`: (G·H).
pub(crate) fn hidden_gates(params: &LayerParams, h: &[f64]) -> Vec<f64> {
    let w = params.weight_hh.data();
    let k = h.len();
    (0..params.weight_hh.shape()[0])
        .map(|j| {
            let bias = params.bias_hh.as_ref().map_or(0.0, |b| b.data()[j] as f64);
            dot(&w[j * k..(j + 1) * k], h) + bias
        })
        .collect()
}

/// Gate pre-activations `gx + W_hh h + b_hh`: (G·H).
fn recurrent_gates(params: &LayerParams, gx: &[f64], h: &[f64]) -> Vec<f64> {
    let mut pre = hidden_gates(params, h);
    for (p, &x) in pre.iter_mut().zip(gx) {
        *p += x;
    }
    pre
}

pub(crate) fn dot(w: &[f32], x: &[f64]) -> f64 {
    w.iter().zip(x).map(|(&a, &b)| a as f64 * b).sum()
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    /// Runs the model on the CPU reference path; see [`forward`].
    pub fn forward_reference(&self, args: &ForwardInput<'_>) -> Result<ForwardOutput> {
        forward(self, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;
    use rand::SeedableRng;

    /// A bidirectional layer run on lengths equals each row run alone on its own prefix.
    #[test]
    fn lengths_equal_running_each_row_alone() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for config in [
            RnnConfig::gru(3, 4)
                .with_bidirectional(true)
                .with_num_layers(2),
            RnnConfig::lstm(3, 5)
                .with_proj_size(2)
                .with_bidirectional(true),
        ] {
            let model = Model::new(config.clone(), &mut rng).unwrap();
            let (t, n, i) = (6, 3, 3);
            let x: Vec<f32> = (0..t * n * i)
                .map(|v| ((v * 37 % 11) as f32 - 5.0) / 4.0)
                .collect();
            let input = Tensor::new([t, n, i], x.clone()).unwrap();
            let lengths = [4, 6, 2];
            let all = forward(&model, &ForwardInput::new(&input).with_lengths(&lengths)).unwrap();
            let width = all.output.shape()[2];
            for (row, &len) in lengths.iter().enumerate() {
                let xs: Vec<f32> = (0..len)
                    .flat_map(|s| x[(s * n + row) * i..][..i].to_vec())
                    .collect();
                let alone_in = Tensor::new([len, i], xs).unwrap();
                let alone = forward(&model, &ForwardInput::new(&alone_in)).unwrap();
                for s in 0..t {
                    let got = &all.output.data()[(s * n + row) * width..][..width];
                    if s < len {
                        assert_eq!(got, &alone.output.data()[s * width..][..width]);
                    } else {
                        assert!(got.iter().all(|&v| v == 0.0));
                    }
                }
                let h_out = all.h_n.shape()[2];
                for g in 0..all.h_n.shape()[0] {
                    assert_eq!(
                        &all.h_n.data()[(g * n + row) * h_out..][..h_out],
                        &alone.h_n.data()[g * h_out..][..h_out]
                    );
                }
            }
        }
    }

    #[test]
    fn relu_and_activations_propagate_nan() {
        use crate::activation::Activation;
        let (relu, sigmoid) = (Activation::Relu, Activation::Sigmoid);
        assert!(relu.apply(f64::NAN).is_nan());
        assert!(sigmoid.apply(f64::NAN).is_nan());
        assert_eq!(relu.apply(-2.0), 0.0);
        assert_eq!(sigmoid.apply(-1000.0), 0.0);
        assert_eq!(sigmoid.apply(1000.0), 1.0);
    }
}
