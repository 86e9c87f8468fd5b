// optim_common: what the optimizer kernels share (`optimizer_prepare`, `sgd_step`, `adam_step`),
// composed in front of each. They run over the flat parameter buffer (every parameter of the
// model, plus any the application registered) and the gradient buffer of the same layout.
//
// The host computes 1 − dampening, 1 − β and ln β in f64: in f32 on the GPU, 1 − β and 1 − βᵗ lose
// most of their digits to cancellation (1 − pow(0.999, 1) comes out 6e-5 off on lavapipe).
//
// scalars (8 f32): [0] steps taken, [1] the gradient scale of clip_grad_norm_ (1 without
// clipping), [2] 1 − β1ᵗ, [3] √(1 − β2ᵗ), [4] the gradient norm before clipping (when clipping).

// Keep in sync with `OptParams` in src/gpu/train/kernels.rs (checked by tests/gpu_train_shaders.rs).
struct OptParams {
    count: u32,
    flags: u32,
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    max_norm: f32,
    one_minus_dampening: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    log_beta1: f32,
    log_beta2: f32,
}

// `flags` bits. Keep in sync with `OPT_*` in src/gpu/train/kernels.rs.
const NESTEROV: u32 = 1u;
const DECOUPLED: u32 = 2u;
const CLIP: u32 = 4u;

@group(0) @binding(0) var<uniform> op: OptParams;

override WG: u32 = 256u;
