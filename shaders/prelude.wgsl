// prelude: what every kernel shares, declared once. `src/gpu/kernels.rs` composes each kernel as
// the weight-type file (`weights_f32.wgsl`), this prelude, the parts its family shares, then the
// kernel's own file (plain concatenation: WGSL resolves module-scope names in any order).

// The uniform every kernel reads through a dynamic offset into the per-step table. Keep in sync
// with `Params` in src/gpu/kernels.rs (checked by tests/gpu_shaders.rs).
struct Params {
    batch: u32,
    in_width: u32,
    hidden: u32,
    h_out: u32,
    step: u32,
    chunk_start: u32,
    chunk_steps: u32,
    chunk_cap: u32,
    gx_cols4: u32,
    out_width: u32,
    state_base: u32,
    cell_base: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

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

// The element of row n's time-t output (T, N, D·H_out) at column col.
fn output_at(t: u32, n: u32, col: u32) -> u32 {
    return (t * params.batch + n) * params.out_width + col;
}

// The first element of row n's gate pre-activations at step s of direction d in the projection
// buffer gx (D, chunk_cap, N, 4·C4), which holds the steps of the current chunk.
fn gx_at(d: u32, s: u32, n: u32) -> u32 {
    let batch = params.batch;
    return (d * params.chunk_cap * batch + (s - params.chunk_start) * batch + n) * params.gx_cols4 * 4u;
}
