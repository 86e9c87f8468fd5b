//! The CPU reference backward: the vector-Jacobian product of the reference forward
//! ([`crate::reference`]) computed in f64 from the f32 weights, inputs and output gradients, rounded
//! once at the end. It is the yardstick every other backward is checked against.
//!
//! It runs the reference forward once, recording per step the state the step started from
//! ([`crate::reference::Trace`]), then walks the layers top-down and each row's steps backwards:
//! per step, [`rnn_step_backward`], [`lstm_step_backward`] (with [`lstm_projection_backward`])
//! or [`gru_step_backward`] turns `∂L/∂h` (and `∂L/∂c`) into the gate gradients; `W_hh`'s and
//! `b_hh`'s gradients accumulate per step; `W_ih`'s, `b_ih`'s and the layer input's come from all
//! steps' gate gradients at once, as the GPU computes them.

use crate::backward::{Gradients, GroupGrads, OutputGrads, PreparedGrads, RawGradients};
use crate::config::{Family, Nonlinearity, RnnConfig};
use crate::error::Result;
use crate::forward::{ForwardInput, ForwardOutput, Prepared};
use crate::model::{LayerParams, Model};
use crate::reference::{self, Trace, hidden_gates, sigmoid};

/// Runs `model` forward on `args` and back from `grads` on the CPU reference. Shapes as
/// documented on [`ForwardInput`], [`ForwardOutput`], [`OutputGrads`] and [`Gradients`].
pub fn backward(
    model: &Model,
    args: &ForwardInput<'_>,
    grads: &OutputGrads<'_>,
) -> Result<(ForwardOutput, Gradients)> {
    let config = model.config();
    if !config.is_pytorch() {
        return Err(crate::error::Error::Unsupported(format!(
            "the backward of {config}: it computes PyTorch's semantics only so far"
        )));
    }
    let p = Prepared::new(config, args)?;
    let g = PreparedGrads::new(config, &p, grads)?;
    reference::check_host_bytes(working_bytes(config, &p), || {
        format!(
            "the CPU backward of {config} on T={} N={}",
            p.seq_len, p.batch
        )
    })?;
    let ((output, h_n, c_n), raw) = backward_prepared(model, &p, &g);
    let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    let out = p.finish(config, f32s(output), f32s(h_n), c_n.map(f32s));
    Ok((out, Gradients::from_raw(config, &p, raw)))
}

/// Bytes the reference backward allocates for a call: the forward's, plus the trace (every
/// layer's input, and per group its input projection and the states each step started from) and
/// the gradients of one layer's input, output and gates, all f64.
pub fn working_bytes(config: &RnnConfig, p: &Prepared) -> u128 {
    let rows = p.seq_len as u128 * p.batch as u128;
    let dirs = config.num_directions() as u128;
    let (h, h_out) = (config.hidden_size as u128, config.output_hidden() as u128);
    let gates = config.gate_count() as u128 * h;
    let widest_in = (config.input_size as u128).max(dirs * h_out);
    let per_layer = widest_in + dirs * (gates + h_out + h);
    let trace = rows * 8 * config.num_layers as u128 * per_layer;
    reference::working_bytes(config, p) + trace + rows * 8 * (2 * widest_in + gates)
}

/// The reference forward's f64 results: output (T_out, N, D·H_out), h_n, c_n (LSTM).
type ForwardResults = (Vec<f64>, Vec<f64>, Option<Vec<f64>>);

/// Runs a validated call forward and back; returns the forward's f64 results as
/// [`reference::forward_prepared`] does, and the gradients.
pub(crate) fn backward_prepared(
    model: &Model,
    p: &Prepared,
    g: &PreparedGrads,
) -> (ForwardResults, RawGradients) {
    let config = model.config();
    let mut trace = Trace::default();
    let forward = reference::forward_recorded(model, p, Some(&mut trace));
    let (t_len, n_rows) = (p.seq_len, p.batch);
    let (h, h_out) = (config.hidden_size, config.output_hidden());
    let (dirs, gw) = (
        config.num_directions(),
        config.gate_count() * config.hidden_size,
    );
    let width = dirs * h_out;
    let lstm = config.family() == Family::Lstm;

    let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let mut d_out = widen(&g.output);
    let mut h0 = vec![0.0; config.num_groups() * n_rows * h_out];
    let mut c0 = vec![0.0; if lstm { h0.len() / h_out * h } else { 0 }];
    let mut params: Vec<GroupGrads> = model.groups().iter().map(GroupGrads::zeros).collect();
    for layer in (0..config.num_layers).rev() {
        let in_w = config.layer_input_size(layer);
        let x = &trace.layer_inputs[layer];
        let mut d_in = vec![0.0; t_len * n_rows * in_w];
        for dir in 0..dirs {
            let group = layer * dirs + dir;
            let pr = model.group(layer, dir);
            let grads = &mut params[group];
            let mut d_gx = vec![0.0; t_len * n_rows * gw];
            for n in 0..n_rows {
                let (state, cell) = ((group * n_rows + n) * h_out, (group * n_rows + n) * h);
                let mut dh = widen(&g.h_n[state..state + h_out]);
                let mut dc = if lstm {
                    widen(&g.c_n[cell..cell + h])
                } else {
                    Vec::new()
                };
                let len = p.length(n);
                for s in (0..len).rev() {
                    let at = if dir == 0 { s } else { len - 1 - s } * n_rows + n;
                    let d_o = &d_out[at * width + dir * h_out..][..h_out];
                    dh.iter_mut().zip(d_o).for_each(|(d, &o)| *d += o);
                    let h_prev = &trace.h_prev[group][at * h_out..][..h_out];
                    let gx = &trace.gates_x[group][at * gw..][..gw];
                    let step = match config.family() {
                        Family::Rnn => rnn_step_backward(config.nonlinearity, pr, gx, h_prev, &dh),
                        Family::Lstm => {
                            let c_prev = &trace.c_prev[group][at * h..][..h];
                            let d_w_hr = grads.weight_hr.as_deref_mut();
                            lstm_step_backward(pr, gx, h_prev, c_prev, &dh, &mut dc, d_w_hr)
                        }
                        Family::Gru => gru_step_backward(pr, gx, h_prev, &dh),
                    };
                    d_gx[at * gw..][..gw].copy_from_slice(&step.gates_x);
                    outer_add(&mut grads.weight_hh, &step.gates_h, h_prev);
                    if let Some(b) = &mut grads.bias_hh {
                        b.iter_mut().zip(&step.gates_h).for_each(|(b, &d)| *b += d);
                    }
                    dh = step.h_direct;
                    transposed_matvec_add(&mut dh, pr.weight_hh.data(), &step.gates_h);
                }
                h0[state..state + h_out].copy_from_slice(&dh);
                if lstm {
                    c0[cell..cell + h].copy_from_slice(&dc);
                }
            }
            let valid = (0..n_rows).flat_map(|n| (0..p.length(n)).map(move |t| t * n_rows + n));
            for at in valid {
                let dg = &d_gx[at * gw..][..gw];
                outer_add(&mut grads.weight_ih, dg, &x[at * in_w..][..in_w]);
                if let Some(b) = &mut grads.bias_ih {
                    b.iter_mut().zip(dg).for_each(|(b, &d)| *b += d);
                }
                let d_x = &mut d_in[at * in_w..][..in_w];
                transposed_matvec_add(d_x, pr.weight_ih.data(), dg);
            }
        }
        d_out = d_in;
    }
    let raw = RawGradients {
        input: d_out,
        h0,
        c0,
        params,
    };
    (forward, raw)
}

/// One step's gradients for one batch row.
#[derive(Clone, Debug, PartialEq)]
pub struct StepGrads {
    /// `∂L/∂(W_ih x + b_ih)` (G·H): the gradient of the input projection's row.
    pub gates_x: Vec<f64>,
    /// `∂L/∂(W_hh h_prev + b_hh)` (G·H): equal to `gates_x` except for GRU's `n` rows, which
    /// carry the factor `r`.
    pub gates_h: Vec<f64>,
    /// The part of `∂L/∂h_prev` that does not pass through `W_hh` (H_out): GRU's `z·∂L/∂h`,
    /// zero for RNN and LSTM. The caller adds `W_hhᵀ · gates_h`.
    pub h_direct: Vec<f64>,
}

/// Backward of [`reference::rnn_step`] for one row: `∂L/∂pre = ∂L/∂h · act'(pre)`. gx (H), h_prev (H),
/// dh = `∂L/∂h` after the step (H).
pub fn rnn_step_backward(
    nonlinearity: Nonlinearity,
    params: &LayerParams,
    gx: &[f64],
    h_prev: &[f64],
    dh: &[f64],
) -> StepGrads {
    let pre = hidden_gates(params, h_prev);
    let d: Vec<f64> = pre
        .iter()
        .zip(gx)
        .zip(dh)
        .map(|((&a, &x), &d)| match nonlinearity {
            Nonlinearity::Tanh => {
                let y = (a + x).tanh();
                d * (1.0 - y * y)
            }
            // PyTorch's threshold_backward: the gradient passes where the result is not <= 0.
            Nonlinearity::Relu if a + x <= 0.0 => 0.0,
            Nonlinearity::Relu => d,
        })
        .collect();
    StepGrads {
        gates_x: d.clone(),
        gates_h: d,
        h_direct: vec![0.0; h_prev.len()],
    }
}

/// Backward of [`reference::lstm_step`] for one row, gates i, f, g, o. gx (4H), h_prev (H_out),
/// c_prev (H), dh = `∂L/∂h` after the step (H_out); `dc` holds `∂L/∂c` after the step (H) and
/// becomes `∂L/∂c_prev`. With a projection, `d_w_hr` (P·H) accumulates `∂L/∂W_hr`.
pub fn lstm_step_backward(
    params: &LayerParams,
    gx: &[f64],
    h_prev: &[f64],
    c_prev: &[f64],
    dh: &[f64],
    dc: &mut [f64],
    d_w_hr: Option<&mut [f64]>,
) -> StepGrads {
    let hidden = c_prev.len();
    let mut pre = hidden_gates(params, h_prev);
    pre.iter_mut().zip(gx).for_each(|(p, &x)| *p += x);
    let gate = |k: usize, j: usize| pre[k * hidden + j];
    let (i, f, o) = (
        |j| sigmoid(gate(0, j)),
        |j| sigmoid(gate(1, j)),
        |j| sigmoid(gate(3, j)),
    );
    let g = |j| gate(2, j).tanh();
    let tanh_c: Vec<f64> = (0..hidden)
        .map(|j| (f(j) * c_prev[j] + i(j) * g(j)).tanh())
        .collect();
    let du = match (&params.weight_hr, d_w_hr) {
        (Some(w_hr), Some(d_w_hr)) => {
            let u: Vec<f64> = (0..hidden).map(|j| o(j) * tanh_c[j]).collect();
            lstm_projection_backward(w_hr.data(), &u, dh, d_w_hr)
        }
        (None, None) => dh.to_vec(),
        _ => unreachable!("a projection's weight and its gradient come together"),
    };
    let mut gates = vec![0.0; 4 * hidden];
    for j in 0..hidden {
        let (i, f, g, o, tc) = (i(j), f(j), g(j), o(j), tanh_c[j]);
        let dct = dc[j] + du[j] * o * (1.0 - tc * tc);
        gates[j] = dct * g * i * (1.0 - i);
        gates[hidden + j] = dct * c_prev[j] * f * (1.0 - f);
        gates[2 * hidden + j] = dct * i * (1.0 - g * g);
        gates[3 * hidden + j] = du[j] * tc * o * (1.0 - o);
        dc[j] = dct * f;
    }
    StepGrads {
        gates_x: gates.clone(),
        gates_h: gates,
        h_direct: vec![0.0; h_prev.len()],
    }
}

/// Backward of [`reference::lstm_projection`] for one row: `∂L/∂W_hr += dh ⊗ u`; returns
/// `∂L/∂u = W_hrᵀ dh` (H). `W_hr` (P, H), u = o·tanh(c) (H), dh (P), d_w_hr (P·H).
pub fn lstm_projection_backward(
    w_hr: &[f32],
    u: &[f64],
    dh: &[f64],
    d_w_hr: &mut [f64],
) -> Vec<f64> {
    outer_add(d_w_hr, dh, u);
    let mut du = vec![0.0; u.len()];
    transposed_matvec_add(&mut du, w_hr, dh);
    du
}

/// Backward of [`reference::gru_step`] for one row, gates r, z, n. gx (3H), h_prev (H),
/// dh = `∂L/∂h` after the step (H).
pub fn gru_step_backward(
    params: &LayerParams,
    gx: &[f64],
    h_prev: &[f64],
    dh: &[f64],
) -> StepGrads {
    let hidden = h_prev.len();
    let gh = hidden_gates(params, h_prev);
    let mut gates_x = vec![0.0; 3 * hidden];
    let mut gates_h = vec![0.0; 3 * hidden];
    let mut h_direct = vec![0.0; hidden];
    for j in 0..hidden {
        let r = sigmoid(gx[j] + gh[j]);
        let z = sigmoid(gx[hidden + j] + gh[hidden + j]);
        let n = (gx[2 * hidden + j] + r * gh[2 * hidden + j]).tanh();
        let d_n = dh[j] * (1.0 - z) * (1.0 - n * n);
        let d_r = d_n * gh[2 * hidden + j] * r * (1.0 - r);
        let d_z = dh[j] * (h_prev[j] - n) * z * (1.0 - z);
        h_direct[j] = dh[j] * z;
        (gates_x[j], gates_h[j]) = (d_r, d_r);
        (gates_x[hidden + j], gates_h[hidden + j]) = (d_z, d_z);
        (gates_x[2 * hidden + j], gates_h[2 * hidden + j]) = (d_n, d_n * r);
    }
    StepGrads {
        gates_x,
        gates_h,
        h_direct,
    }
}

/// `acc += a ⊗ b`: acc (|a|, |b|) row-major.
fn outer_add(acc: &mut [f64], a: &[f64], b: &[f64]) {
    for (row, &a) in acc.chunks_exact_mut(b.len()).zip(a) {
        row.iter_mut().zip(b).for_each(|(r, &b)| *r += a * b);
    }
}

/// `acc += Wᵀ v`: W (|v|, |acc|) row-major f32.
fn transposed_matvec_add(acc: &mut [f64], w: &[f32], v: &[f64]) {
    for (row, &v) in w.chunks_exact(acc.len()).zip(v) {
        acc.iter_mut()
            .zip(row)
            .for_each(|(a, &w)| *a += w as f64 * v);
    }
}

impl Model {
    /// Runs the model forward and back on the CPU reference; see [`backward`].
    pub fn backward_reference(
        &self,
        args: &ForwardInput<'_>,
        grads: &OutputGrads<'_>,
    ) -> Result<(ForwardOutput, Gradients)> {
        backward(self, args, grads)
    }
}

#[cfg(test)]
#[path = "reference_backward_tests.rs"]
mod tests;
