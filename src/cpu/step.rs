//! The fused pointwise half of a recurrent step: given the gate GEMM's result `h_{t-1}·W_hhᵀ`
//! for a block of batch rows, add the input projection and biases, apply the nonlinearities and
//! update the state in one pass over cache-resident rows. Named after the GPU kernels and the
//! reference functions they mirror (`rnn_step`, `lstm_step`, `gru_step`).
//!
//! Each function is compiled once per SIMD level (AVX-512, AVX2+FMA on x86-64; the build's own
//! target features elsewhere, e.g. SIMD128 on wasm32) and picked at run time, so the loops
//! vectorize with the widest vectors the CPU has.
//!
//! The nonlinearities are the functions of [`super::math`]; a family whose activations or
//! pre-activation clipping are configurable (ONNX) plugs in here, as another row update.

use super::math::{relu, sigmoid, tanh};
use crate::config::Nonlinearity;

/// A batch row that takes this step: its row in the unit's block and the offset of its input
/// projection row (G·H wide) in `gx`.
#[derive(Clone, Copy, Debug)]
pub struct Active {
    /// The row within the unit's block.
    pub row: usize,
    /// Offset of the row's `x_t·W_ihᵀ` in `gx`.
    pub gx: usize,
}

/// Compiles `$body` (an `#[inline(always)]` function) under each SIMD level and dispatches at run time.
macro_rules! simd_levels {
    ($(#[$doc:meta])* pub fn $name:ident = $body:ident($($arg:ident: $ty:ty),* $(,)?)) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                {
                    // SAFETY: the CPU has the features `avx512` is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above, for `avx2`.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

simd_levels! {
    /// RNN: `h ← act(pre + gx + b)` for each active row. pre (m, H) = `h·W_hhᵀ`; h (m, H).
    pub fn rnn_step = rnn_rows(
        active: &[Active],
        pre: &[f32],
        gx: &[f32],
        bias: &[f32],
        h: &mut [f32],
        hidden: usize,
        nonlinearity: Nonlinearity,
    )
}

#[inline(always)]
fn rnn_rows(
    active: &[Active],
    pre: &[f32],
    gx: &[f32],
    bias: &[f32],
    h: &mut [f32],
    hidden: usize,
    nonlinearity: Nonlinearity,
) {
    let bias = &bias[..hidden];
    for a in active {
        let pre = &pre[a.row * hidden..][..hidden];
        let x = &gx[a.gx..][..hidden];
        let h = &mut h[a.row * hidden..][..hidden];
        match nonlinearity {
            Nonlinearity::Tanh => {
                for j in 0..hidden {
                    h[j] = tanh(pre[j] + x[j] + bias[j]);
                }
            }
            Nonlinearity::Relu => {
                for j in 0..hidden {
                    h[j] = relu(pre[j] + x[j] + bias[j]);
                }
            }
        }
    }
}

/// The four H-wide gate blocks of a (4H) row.
#[inline(always)]
fn gates4(row: &[f32], hidden: usize) -> [&[f32]; 4] {
    let (a, rest) = row[..4 * hidden].split_at(hidden);
    let (b, rest) = rest.split_at(hidden);
    let (c, d) = rest.split_at(hidden);
    [a, b, c, d]
}

/// The three H-wide gate blocks of a (3H) row.
#[inline(always)]
fn gates3(row: &[f32], hidden: usize) -> [&[f32]; 3] {
    let (a, rest) = row[..3 * hidden].split_at(hidden);
    let (b, c) = rest.split_at(hidden);
    [a, b, c]
}

simd_levels! {
    /// LSTM, gates i, f, g, o: `c ← f·c + i·g`, `u ← o·tanh(c)` for each active row.
    /// pre (m, 4H) = `h·W_hhᵀ`; c and u (m, H). Without a projection `u` is the new `h`.
    pub fn lstm_step = lstm_rows(
        active: &[Active],
        pre: &[f32],
        gx: &[f32],
        bias: &[f32],
        c: &mut [f32],
        u: &mut [f32],
        hidden: usize,
    )
}

#[inline(always)]
fn lstm_rows(
    active: &[Active],
    pre: &[f32],
    gx: &[f32],
    bias: &[f32],
    c: &mut [f32],
    u: &mut [f32],
    hidden: usize,
) {
    let [bi, bf, bg, bo] = gates4(bias, hidden);
    for a in active {
        let [pi, pf, pg, po] = gates4(&pre[a.row * 4 * hidden..], hidden);
        let [xi, xf, xg, xo] = gates4(&gx[a.gx..], hidden);
        let c = &mut c[a.row * hidden..][..hidden];
        let u = &mut u[a.row * hidden..][..hidden];
        for j in 0..hidden {
            let i = sigmoid(pi[j] + xi[j] + bi[j]);
            let f = sigmoid(pf[j] + xf[j] + bf[j]);
            let g = tanh(pg[j] + xg[j] + bg[j]);
            let o = sigmoid(po[j] + xo[j] + bo[j]);
            let cj = f * c[j] + i * g;
            c[j] = cj;
            u[j] = o * tanh(cj);
        }
    }
}

simd_levels! {
    /// GRU, gates r, z, n: `n = tanh(gx_n + b_in + r·(pre_n + b_hn))`, `h ← (1 − z)·n + z·h` for
    /// each active row. pre (m, 3H) = `h·W_hhᵀ` without bias; h (m, H).
    pub fn gru_step = gru_rows(
        active: &[Active],
        pre: &[f32],
        gx: &[f32],
        bias: &[f32],
        b_hn: &[f32],
        h: &mut [f32],
        hidden: usize,
    )
}

#[inline(always)]
fn gru_rows(
    active: &[Active],
    pre: &[f32],
    gx: &[f32],
    bias: &[f32],
    b_hn: &[f32],
    h: &mut [f32],
    hidden: usize,
) {
    let [br, bz, bn] = gates3(bias, hidden);
    let b_hn = &b_hn[..hidden];
    for a in active {
        let [pr, pz, pn] = gates3(&pre[a.row * 3 * hidden..], hidden);
        let [xr, xz, xn] = gates3(&gx[a.gx..], hidden);
        let h = &mut h[a.row * hidden..][..hidden];
        for j in 0..hidden {
            let r = sigmoid(pr[j] + xr[j] + br[j]);
            let z = sigmoid(pz[j] + xz[j] + bz[j]);
            let n = tanh(xn[j] + bn[j] + r * (pn[j] + b_hn[j]));
            h[j] = (1.0 - z) * n + z * h[j];
        }
    }
}
