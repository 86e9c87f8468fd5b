// prelude: the numerically safe activations, the NaN test and the direction's time of a step,
// declared once for every kernel that computes gates: the forward kernels (`src/gpu/kernels.rs`
// composes each as the weight type `weights_f32.wgsl`, this prelude, `params.wgsl`, the parts its
// family shares, then its own file) and the training step kernels (`shaders/train/`, see
// `src/gpu/train/kernels.rs`). Plain concatenation of whole files: WGSL resolves module-scope
// names in any order.

// NaN test on the bits, which no floating-point optimisation may drop.
fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// Logistic sigmoid without overflow; NaN stays NaN.
fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    let s = 1.0 / (1.0 + e);
    return select(select(e * s, s, x >= 0.0), x, is_nan(x));
}

// tanh without overflow for large |x| (some drivers' tanh returns NaN past |x| ~ 44); NaN stays NaN.
fn tanh_stable(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    let t = (1.0 - e) / (1.0 + e);
    return select(select(-t, t, x >= 0.0), x, is_nan(x));
}

// PyTorch's relu: NaN stays NaN. The test is on the bits because a compiler may turn a float
// compare-and-select into max(x, 0), which returns 0 for NaN (Mesa's GL driver does).
fn relu(x: f32) -> f32 {
    let bits = bitcast<u32>(x);
    let negative = (bits >> 31u) == 1u && (bits & 0x7fffffffu) <= 0x7f800000u;
    return select(x, 0.0, negative);
}

// The time t that direction d handles at step s of a row of length len: t = s going forward, and
// the reverse direction starts at the row's own last step, t = len - 1 - s. Past its length
// (s >= len) a row has no time of its own: t = s.
fn step_time(s: u32, len: u32, d: u32) -> u32 {
    if d == 1u && s < len {
        return len - 1u - s;
    }
    return s;
}
