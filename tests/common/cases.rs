//! Random configurations and calls for the property tests (the GPU's and the fast CPU path's
//! against the f64 reference): kind (all six), input/hidden sizes 1..=300, layers 1..=3,
//! bidirectional, batch_first, bias, relu, proj_size, lengths, unbatched input, batch 1..=40,
//! T 1..=200, given or zero initial states.
//!
//! Included with `#[path = "common/cases.rs"] mod cases;`.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this shared file"
)]

use rand::Rng;
use rand::rngs::StdRng;
use wgpu_rnn::{ForwardInput, ForwardOutput, Model, ModuleKind, Nonlinearity, RnnConfig, Tensor};

/// Multiply-adds of the CPU reference per case, at most (keeps each case to a few milliseconds).
pub const WORK_BUDGET: usize = 20_000_000;

/// A random case: the model and the call's tensors.
pub struct Case {
    pub model: Model,
    pub input: Tensor,
    pub h0: Option<Tensor>,
    pub c0: Option<Tensor>,
    pub lengths: Option<Vec<usize>>,
}

impl Case {
    pub fn args(&self) -> ForwardInput<'_> {
        ForwardInput {
            input: &self.input,
            h0: self.h0.as_ref(),
            c0: self.c0.as_ref(),
            lengths: self.lengths.as_deref(),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} input {:?} h0 {} c0 {} lengths {:?}",
            self.model.config(),
            self.input.shape(),
            self.h0.is_some(),
            self.c0.is_some(),
            self.lengths
        )
    }
}

pub fn tensor(rng: &mut StdRng, shape: Vec<usize>, scale: f32) -> Tensor {
    let n = shape.iter().product();
    let data = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Tensor::new(shape, data).unwrap()
}

/// Draws a size in 1..=300, mostly small, sometimes large.
pub fn size(rng: &mut StdRng) -> usize {
    match rng.random_range(0..10) {
        0..=4 => rng.random_range(1..=16),
        5..=7 => rng.random_range(1..=80),
        _ => rng.random_range(1..=300),
    }
}

/// A random case whose reference forward takes at most `work_budget` multiply-adds (calls are
/// shortened and narrowed to fit).
pub fn draw(rng: &mut StdRng, work_budget: usize) -> Case {
    let kind = ModuleKind::ALL[rng.random_range(0..6)];
    let (i, h) = (size(rng), size(rng));
    let mut config = RnnConfig::new(kind, i, h).with_bias(rng.random_bool(0.8));
    if kind.family() == wgpu_rnn::Family::Rnn && rng.random_bool(0.5) {
        config = config.with_nonlinearity(Nonlinearity::Relu);
    }
    if !kind.is_cell() {
        config = config
            .with_num_layers(rng.random_range(1..=3))
            .with_bidirectional(rng.random_bool(0.5))
            .with_batch_first(rng.random_bool(0.3));
        if kind == ModuleKind::Lstm && h > 1 && rng.random_bool(0.4) {
            config = config.with_proj_size(rng.random_range(1..h));
        }
    }
    let model = Model::new(config.clone(), rng).unwrap();

    let (mut t, mut n) = if kind.is_cell() {
        (1, rng.random_range(1..=40))
    } else {
        (rng.random_range(1..=200), rng.random_range(1..=40))
    };
    // Keep the reference's work in budget: big models get short, narrow calls.
    let per_row_step = config.gate_count()
        * h
        * (i.max(config.num_directions() * config.output_hidden()) + config.output_hidden())
        * config.num_layers
        * config.num_directions();
    while t * n * per_row_step > work_budget && t * n > 1 {
        if t >= n {
            t = t.div_ceil(2)
        } else {
            n = n.div_ceil(2)
        }
    }
    let unbatched = rng.random_bool(0.2);
    let n = if unbatched { 1 } else { n };
    let input_shape = match (kind.is_cell(), unbatched, config.batch_first) {
        (true, true, _) => vec![i],
        (true, false, _) => vec![n, i],
        (false, true, _) => vec![t, i],
        (false, false, false) => vec![t, n, i],
        (false, false, true) => vec![n, t, i],
    };
    let input = tensor(rng, input_shape, 2.0);
    let state = |width: usize| match (kind.is_cell(), unbatched) {
        (true, true) => vec![width],
        (true, false) => vec![n, width],
        (false, true) => vec![config.num_groups(), width],
        (false, false) => vec![config.num_groups(), n, width],
    };
    // An LSTM takes (h0, c0) together or neither, as PyTorch does.
    let with_state = rng.random_bool(0.5);
    let h0 = with_state.then(|| tensor(rng, state(config.output_hidden()), 1.0));
    let c0 =
        (with_state && kind.family() == wgpu_rnn::Family::Lstm).then(|| tensor(rng, state(h), 1.0));
    let lengths = (!kind.is_cell() && !unbatched && rng.random_bool(0.5))
        .then(|| (0..n).map(|_| rng.random_range(1..=t)).collect());
    Case {
        model,
        input,
        h0,
        c0,
        lengths,
    }
}

pub fn max_err(got: &ForwardOutput, want: &ForwardOutput) -> Result<f64, String> {
    let pairs = [
        ("output", Some(&got.output), Some(&want.output)),
        ("h_n", Some(&got.h_n), Some(&want.h_n)),
        ("c_n", got.c_n.as_ref(), want.c_n.as_ref()),
    ];
    let mut worst = 0f64;
    for (name, g, w) in pairs {
        match (g, w) {
            (None, None) => {}
            (Some(g), Some(w)) => {
                if g.shape() != w.shape() {
                    return Err(format!("{name} shape {:?} vs {:?}", g.shape(), w.shape()));
                }
                for (k, (&a, &b)) in g.data().iter().zip(w.data()).enumerate() {
                    if a.is_nan() != b.is_nan() {
                        return Err(format!("{name}[{k}]: {a} vs {b}"));
                    }
                    let err = (a as f64 - b as f64).abs() / (b as f64).abs().max(1.0);
                    if err > worst {
                        worst = err;
                    }
                }
            }
            _ => return Err(format!("{name} present on one side only")),
        }
    }
    Ok(worst)
}
