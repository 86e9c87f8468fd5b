// mse_loss: torch.nn.functional.mse_loss(output, target) (mean) on the GPU, between a training
// forward and its backward: writes the gradient 2·(output − target)/count into ∂L/∂output and the
// loss into `loss[0]`. CPU twin: `loss::mse_loss`. One workgroup; layouts time-major (T, N, D·H_out),
// the first `count` elements compared (T_out steps), the gradient zero after them up to `total`.

struct LossParams {
    count: u32,
    total: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> lp: LossParams;
@group(0) @binding(1) var<storage, read> output: array<f32>;
@group(0) @binding(2) var<storage, read> wanted: array<f32>;
@group(0) @binding(3) var<storage, read_write> d_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32) {
    let scale = 2.0 / f32(max(lp.count, 1u));
    var sum = 0.0;
    for (var i = lid; i < lp.total; i += WG) {
        var g = 0.0;
        if i < lp.count {
            let diff = output[i] - wanted[i];
            sum += diff * diff;
            g = scale * diff;
        }
        d_out[i] = g;
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if lid < half {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        loss[0] = partial[0] / f32(max(lp.count, 1u));
    }
}
