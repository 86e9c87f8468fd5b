//! The uniforms of the training kernels, each with its field list for checking its WGSL twin
//! (`tests/gpu_train_shaders.rs`), and their flag bits.

/// [`Gemm::flags`]: add C's previous value.
pub const GEMM_ACCUMULATE: u32 = 1;
/// [`Gemm::flags`]: add `bias(j)`.
pub const GEMM_BIAS: u32 = 2;
/// [`OptParams::flags`]: Nesterov momentum.
pub const OPT_NESTEROV: u32 = 1;
/// [`OptParams::flags`]: AdamW's decoupled weight decay.
pub const OPT_DECOUPLED: u32 = 2;
/// [`OptParams::flags`]: clip the gradient norm first.
pub const OPT_CLIP: u32 = 4;

/// The uniform of the training step kernels (one table entry per dispatch).
///
/// Keep in sync with `struct TrainParams` in `shaders/train/train_common.wgsl` (checked by
/// `tests/gpu_train_shaders.rs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TrainParams {
    /// Batch rows `N`.
    pub batch: u32,
    /// Time steps `T`.
    pub steps: u32,
    /// Input width of this layer `I_l`.
    pub in_width: u32,
    /// Hidden size `H`.
    pub hidden: u32,
    /// Width of `h`, `H_out`.
    pub h_out: u32,
    /// The step: `s` in a training forward, `s + 1` in a backward (0: the initial state).
    pub step: u32,
    /// Output row width `D·H_out`.
    pub out_width: u32,
    /// Directions `D`.
    pub dirs: u32,
    /// Elements between the two directions' tensors in the flat parameters.
    pub group_stride: u32,
    /// Element offset of this layer's `weight_ih` (direction 0) in the flat parameters.
    pub w_ih: u32,
    /// Element offset of `weight_hh`.
    pub w_hh: u32,
    /// Element offset of `bias_ih` (0 without biases).
    pub b_ih: u32,
    /// Element offset of `bias_hh` (0 without biases).
    pub b_hh: u32,
    /// Element offset of `weight_hr` (0 without a projection).
    pub w_hr: u32,
    /// Element offset of this layer's h states, `layer·D·N·H_out`.
    pub state_base: u32,
    /// Element offset of this layer's c states within the cell part, `layer·D·N·H`.
    pub cell_base: u32,
    /// Where the cell states start in an init-like buffer, `L·D·N·H_out`.
    pub cells_at: u32,
    /// 1 when the model has biases.
    pub has_bias: u32,
    /// Where `grad_h_n` (then `grad_c_n`) starts in the state-gradient buffer.
    pub final_at: u32,
}

/// The fields of [`TrainParams`] in order with their byte offsets, for checking the WGSL twin.
pub const TRAIN_PARAMS_FIELDS: [(&str, usize); 19] = [
    ("batch", std::mem::offset_of!(TrainParams, batch)),
    ("steps", std::mem::offset_of!(TrainParams, steps)),
    ("in_width", std::mem::offset_of!(TrainParams, in_width)),
    ("hidden", std::mem::offset_of!(TrainParams, hidden)),
    ("h_out", std::mem::offset_of!(TrainParams, h_out)),
    ("step", std::mem::offset_of!(TrainParams, step)),
    ("out_width", std::mem::offset_of!(TrainParams, out_width)),
    ("dirs", std::mem::offset_of!(TrainParams, dirs)),
    (
        "group_stride",
        std::mem::offset_of!(TrainParams, group_stride),
    ),
    ("w_ih", std::mem::offset_of!(TrainParams, w_ih)),
    ("w_hh", std::mem::offset_of!(TrainParams, w_hh)),
    ("b_ih", std::mem::offset_of!(TrainParams, b_ih)),
    ("b_hh", std::mem::offset_of!(TrainParams, b_hh)),
    ("w_hr", std::mem::offset_of!(TrainParams, w_hr)),
    ("state_base", std::mem::offset_of!(TrainParams, state_base)),
    ("cell_base", std::mem::offset_of!(TrainParams, cell_base)),
    ("cells_at", std::mem::offset_of!(TrainParams, cells_at)),
    ("has_bias", std::mem::offset_of!(TrainParams, has_bias)),
    ("final_at", std::mem::offset_of!(TrainParams, final_at)),
];

/// The uniform of `gemm`: `C(i, j) = Σ_k A(i, k)·B(k, j) (+ bias(j)) (+ C(i, j))` with every
/// operand addressed through strides (see `shaders/train/gemm.wgsl`).
///
/// Keep in sync with `struct Gemm` in `shaders/train/gemm.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Gemm {
    /// Rows of C.
    pub m: u32,
    /// Columns of C.
    pub n: u32,
    /// Terms of each sum.
    pub k: u32,
    /// [`GEMM_ACCUMULATE`] | [`GEMM_BIAS`].
    pub flags: u32,
    /// A's first element.
    pub a_off: u32,
    /// A's row stride.
    pub a_rs: u32,
    /// A's column stride.
    pub a_cs: u32,
    /// A's stride between batch entries (workgroup z).
    pub a_z: u32,
    /// B's first element.
    pub b_off: u32,
    /// B's row stride.
    pub b_rs: u32,
    /// B's column stride.
    pub b_cs: u32,
    /// B's stride between batch entries.
    pub b_z: u32,
    /// C's first element.
    pub c_off: u32,
    /// C's row stride (its column stride is 1).
    pub c_rs: u32,
    /// C's stride between batch entries.
    pub c_z: u32,
    /// The bias's first element.
    pub bias_off: u32,
    /// The bias's stride between batch entries.
    pub bias_z: u32,
    /// Invocations of a workgroup along C's columns (a power of two dividing
    /// [`GEMM_WORKGROUP`]); the rest go along its rows.
    pub lanes_x: u32,
}

/// The fields of [`Gemm`] in order with their byte offsets, for checking the WGSL twin.
pub const GEMM_FIELDS: [(&str, usize); 18] = [
    ("m", std::mem::offset_of!(Gemm, m)),
    ("n", std::mem::offset_of!(Gemm, n)),
    ("k", std::mem::offset_of!(Gemm, k)),
    ("flags", std::mem::offset_of!(Gemm, flags)),
    ("a_off", std::mem::offset_of!(Gemm, a_off)),
    ("a_rs", std::mem::offset_of!(Gemm, a_rs)),
    ("a_cs", std::mem::offset_of!(Gemm, a_cs)),
    ("a_z", std::mem::offset_of!(Gemm, a_z)),
    ("b_off", std::mem::offset_of!(Gemm, b_off)),
    ("b_rs", std::mem::offset_of!(Gemm, b_rs)),
    ("b_cs", std::mem::offset_of!(Gemm, b_cs)),
    ("b_z", std::mem::offset_of!(Gemm, b_z)),
    ("c_off", std::mem::offset_of!(Gemm, c_off)),
    ("c_rs", std::mem::offset_of!(Gemm, c_rs)),
    ("c_z", std::mem::offset_of!(Gemm, c_z)),
    ("bias_off", std::mem::offset_of!(Gemm, bias_off)),
    ("bias_z", std::mem::offset_of!(Gemm, bias_z)),
    ("lanes_x", std::mem::offset_of!(Gemm, lanes_x)),
];

/// The uniform of the optimizer kernels.
///
/// Keep in sync with `struct OptParams` in `shaders/train/optim_common.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OptParams {
    /// Elements of the flat parameter buffer.
    pub count: u32,
    /// [`OPT_NESTEROV`] | [`OPT_DECOUPLED`] | [`OPT_CLIP`].
    pub flags: u32,
    /// Learning rate.
    pub lr: f32,
    /// SGD momentum.
    pub momentum: f32,
    /// SGD dampening.
    pub dampening: f32,
    /// Weight decay.
    pub weight_decay: f32,
    /// Adam β1.
    pub beta1: f32,
    /// Adam β2.
    pub beta2: f32,
    /// Adam eps.
    pub eps: f32,
    /// clip_grad_norm_'s max_norm.
    pub max_norm: f32,
    /// 1 − dampening, computed in f64.
    pub one_minus_dampening: f32,
    /// 1 − β1, computed in f64.
    pub one_minus_beta1: f32,
    /// 1 − β2, computed in f64.
    pub one_minus_beta2: f32,
    /// ln β1, computed in f64 (−∞ for β1 = 0).
    pub log_beta1: f32,
    /// ln β2, computed in f64.
    pub log_beta2: f32,
}

/// The fields of [`OptParams`] in order with their byte offsets, for checking the WGSL twin.
pub const OPT_PARAMS_FIELDS: [(&str, usize); 15] = [
    ("count", std::mem::offset_of!(OptParams, count)),
    ("flags", std::mem::offset_of!(OptParams, flags)),
    ("lr", std::mem::offset_of!(OptParams, lr)),
    ("momentum", std::mem::offset_of!(OptParams, momentum)),
    ("dampening", std::mem::offset_of!(OptParams, dampening)),
    (
        "weight_decay",
        std::mem::offset_of!(OptParams, weight_decay),
    ),
    ("beta1", std::mem::offset_of!(OptParams, beta1)),
    ("beta2", std::mem::offset_of!(OptParams, beta2)),
    ("eps", std::mem::offset_of!(OptParams, eps)),
    ("max_norm", std::mem::offset_of!(OptParams, max_norm)),
    (
        "one_minus_dampening",
        std::mem::offset_of!(OptParams, one_minus_dampening),
    ),
    (
        "one_minus_beta1",
        std::mem::offset_of!(OptParams, one_minus_beta1),
    ),
    (
        "one_minus_beta2",
        std::mem::offset_of!(OptParams, one_minus_beta2),
    ),
    ("log_beta1", std::mem::offset_of!(OptParams, log_beta1)),
    ("log_beta2", std::mem::offset_of!(OptParams, log_beta2)),
];

/// The uniform of `mse_loss`.
///
/// Keep in sync with `struct LossParams` in `shaders/train/mse_loss.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossParams {
    /// Elements compared: `T_out·N·D·H_out`.
    pub count: u32,
    /// Elements of the output gradient written: `T·N·D·H_out`.
    pub total: u32,
}

/// The fields of [`LossParams`] in order with their byte offsets, for checking the WGSL twin.
pub const LOSS_PARAMS_FIELDS: [(&str, usize); 2] = [
    ("count", std::mem::offset_of!(LossParams, count)),
    ("total", std::mem::offset_of!(LossParams, total)),
];
