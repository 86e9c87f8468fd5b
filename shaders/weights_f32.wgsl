// weights_f32: the element type of the weight buffers (W_ih, W_hh, W_hr and the biases), composed
// first in every kernel. Kernels read a weight as `f32(w)` or `vec4<f32>(w)`, so a kernel built
// over another weight type (a `weights_f16.wgsl` opening with `enable f16;`) needs this file
// swapped and nothing else.
alias W = f32;
alias W4 = vec4<f32>;
