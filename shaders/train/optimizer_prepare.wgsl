// optimizer_prepare: the once-per-step scalars of an optimizer step, one workgroup: counts the
// step, and with clipping reduces ‖grad‖₂ over every parameter and sets the scale
// min(1, max_norm / (‖grad‖₂ + 1e-6)) as torch.nn.utils.clip_grad_norm_ does; Adam's bias
// corrections 1 − β1ᵗ and √(1 − β2ᵗ). CPU twins: `optim::clip_grad_norm` and the step count of
// `optim::ReferenceOptimizer`. Dispatched as (1, 1, 1) before `sgd_step` or `adam_step`, in the
// same pass, so several steps recorded into one submission count correctly.

@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> scalars: array<f32>;

var<workgroup> partial: array<f32, WG>;

// 1 − βᵗ = −expm1(t·ln β) from ln β, without the cancellation of 1 − pow(β, t): a Taylor series
// while |t·ln β| is small (its error is below f32 rounding for |y| ≤ 0.25), 1 − exp after.
fn one_minus_pow(log_beta: f32, t: f32) -> f32 {
    let y = t * log_beta;
    if y > -0.25 {
        return -y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y / 720.0)))));
    }
    return 1.0 - exp(y);
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32) {
    var sum = 0.0;
    if (op.flags & CLIP) != 0u {
        for (var i = lid; i < op.count; i += WG) {
            let g = grads[i];
            sum += g * g;
        }
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
        let t = scalars[0] + 1.0;
        scalars[0] = t;
        var scale = 1.0;
        if (op.flags & CLIP) != 0u {
            let norm = sqrt(partial[0]);
            scalars[4] = norm;
            scale = min(1.0, op.max_norm / (norm + 1e-6));
        }
        scalars[1] = scale;
        scalars[2] = one_minus_pow(op.log_beta1, t);
        scalars[3] = sqrt(one_minus_pow(op.log_beta2, t));
    }
}
