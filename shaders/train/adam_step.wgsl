// adam_step: torch.optim.Adam / AdamW on every element of the flat parameters, in place. CPU
// twin: `optim::adam_step`. With clipping the gradient is first scaled (and written back); with
// weight decay p = p·(1 − lr·wd) (decoupled, AdamW) or g = g + wd·p (Adam);
// m = m + (1 − β1)(g − m), v = β2·v + (1 − β2)·g², p = p − lr/(1 − β1ᵗ)·m/(√v/√(1 − β2ᵗ) + eps).
// state: m (count) then v (count).

@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read> scalars: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * WG;
    if i >= op.count {
        return;
    }
    var g = grads[i];
    if (op.flags & CLIP) != 0u {
        g *= scalars[1];
        grads[i] = g;
    }
    var p = params[i];
    if (op.flags & DECOUPLED) != 0u {
        p *= 1.0 - op.lr * op.weight_decay;
    } else {
        g += op.weight_decay * p;
    }
    let m = state[i] + op.one_minus_beta1 * (g - state[i]);
    let v = op.beta2 * state[op.count + i] + op.one_minus_beta2 * g * g;
    state[i] = m;
    state[op.count + i] = v;
    let denom = sqrt(v) / scalars[3] + op.eps;
    params[i] = p - op.lr / scalars[2] * m / denom;
}
