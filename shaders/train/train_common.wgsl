// train_common: what the training step kernels share (the `*_step_train` forward kernels that
// save what the backward needs, and the `*_step_backward` kernels), composed in front of each,
// after shaders/prelude.wgsl (the activations, the NaN test and `step_time` the forward kernels
// share).
//
// Invocation (unit, n, d) of a step kernel owns one unit of batch row n of direction d at the
// step `tp.step`; invocations are numbered along the units then the rows (global x = n·units +
// unit), so a workgroup covers several rows of a small layer, and workgroup z is the direction. Time-major layouts, one layer:
// - params: every parameter in one flat buffer (state_dict order, each tensor at a 64-element
//   boundary); direction d's tensors sit `group_stride` elements after direction 0's;
// - output (T, N, D·H_out); gx (D, T, N, G·H); saved (D, T, N, S) per family (see the kernels);
// - init: h0 (L·D, N, H_out) then, at `cells_at`, c0 (L·D, N, H); `final` and `grad_init` alike
//   (h_n | c_n); grad_init holds grad_h0 | grad_c0, then from `final_at` the incoming
//   grad_h_n | grad_c_n the first backward dispatch starts from.

// Keep in sync with `TrainParams` in src/gpu/train/kernels.rs (checked by tests/gpu_train_shaders.rs).
struct TrainParams {
    batch: u32,
    steps: u32,
    in_width: u32,
    hidden: u32,
    h_out: u32,
    step: u32,
    out_width: u32,
    dirs: u32,
    group_stride: u32,
    w_ih: u32,
    w_hh: u32,
    b_ih: u32,
    b_hh: u32,
    w_hr: u32,
    state_base: u32,
    cell_base: u32,
    cells_at: u32,
    has_bias: u32,
    final_at: u32,
}

@group(0) @binding(0) var<uniform> tp: TrainParams;

override WG: u32 = 64u;

// Row (d, t, n) of a (D, T, N, width) buffer: its first element.
fn slot(d: u32, t: u32, n: u32, width: u32) -> u32 {
    return ((d * tp.steps + t) * tp.batch + n) * width;
}

// Element (t, n, col) of a (T, N, D·H_out) layer output or output gradient.
fn out_at(t: u32, n: u32, col: u32) -> u32 {
    return (t * tp.batch + n) * tp.out_width + col;
}

// Element k of row n's direction-d hidden state in an init-like buffer (h0, h_n, grad_h0).
fn state_at(d: u32, n: u32, k: u32) -> u32 {
    return tp.state_base + (d * tp.batch + n) * tp.h_out + k;
}

// Element j of row n's direction-d cell state in an init-like buffer (c0, c_n, grad_c0).
fn cell_at(d: u32, n: u32, j: u32) -> u32 {
    return tp.cells_at + tp.cell_base + (d * tp.batch + n) * tp.hidden + j;
}

// Element (r, k) of direction d's W_hh (G·H, H_out) in the flat parameters.
fn w_hh_at(d: u32, r: u32, k: u32) -> u32 {
    return tp.w_hh + d * tp.group_stride + r * tp.h_out + k;
}
