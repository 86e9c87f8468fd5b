// params: the uniform every forward kernel reads and its binding, with the index helpers built
// on it; composed after prelude.wgsl in every forward kernel (the training kernels have uniforms
// of their own, see shaders/train/).

// The uniform every forward kernel reads through a dynamic offset into the per-step table. Keep in
// sync with `Params` in src/gpu/kernels.rs (checked by tests/gpu_shaders.rs).
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
