// sgd_step: torch.optim.SGD on every element of the flat parameters, in place. CPU twin:
// `optim::sgd_step`. With clipping the gradient is first scaled (and written back, as
// clip_grad_norm_ leaves it); then g = grad + weight_decay·p; with momentum b = g on the first
// step, else b = momentum·b + (1 − dampening)·g, and g = g + momentum·b (Nesterov) or b;
// p = p − lr·g. state: the momentum buffer (count).

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
    let p = params[i];
    g += op.weight_decay * p;
    if op.momentum != 0.0 {
        var b = g;
        if scalars[0] > 1.0 {
            b = op.momentum * state[i] + op.one_minus_dampening * g;
        }
        state[i] = b;
        if (op.flags & NESTEROV) != 0u {
            g += op.momentum * b;
        } else {
            g = b;
        }
    }
    params[i] = p - op.lr * g;
}
