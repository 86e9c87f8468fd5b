// gemm: C = op(A)·op(B) (+ bias) (+ C), for the training passes that cover all time steps at once:
// the input projection X·W_ihᵀ + b_ih of a layer, and in the backward the weight gradients
// dW_ih = Σ dGᵀ·x, dW_hh = Σ dGᵀ·h_prev, dW_hr = Σ dhᵀ·u, the bias gradients (dGᵀ·1) and the
// input gradient dX = dG·W_ih. CPU twin: the loops over valid steps in `reference_backward`.
//
// Operands are addressed through strides, so any transpose and any column slice of a wider row
// (the saved-state rows) is read in place: A(i, k) = a[a_off + z·a_z + i·a_rs + k·a_cs],
// B(k, j) = b[b_off + z·b_z + k·b_rs + j·b_cs], C(i, j) = c[c_off + z·c_z + i·c_rs + j],
// bias(j) = bias[bias_off + z·bias_z + j]; workgroup z is the batch index (the direction).
//
// A workgroup of WG invocations is laid out as `lanes_x` columns × WG / lanes_x rows of
// invocations (chosen per dispatch, so a narrow C keeps every invocation busy); an invocation
// computes TM rows × TN columns of C (columns c, c + lanes_x, ...: adjacent invocations touch
// adjacent columns). Sums run in blocks of K_BLOCK terms added to the total, which keeps
// sums over thousands of steps within f32 rounding of the f64 reference.

struct Gemm {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    a_off: u32,
    a_rs: u32,
    a_cs: u32,
    a_z: u32,
    b_off: u32,
    b_rs: u32,
    b_cs: u32,
    b_z: u32,
    c_off: u32,
    c_rs: u32,
    c_z: u32,
    bias_off: u32,
    bias_z: u32,
    lanes_x: u32,
}

// `flags` bits. Keep in sync with `GEMM_ACCUMULATE` and `GEMM_BIAS` in src/gpu/train/kernels.rs.
const ACCUMULATE: u32 = 1u;
const BIAS: u32 = 2u;

override WG: u32 = 64u;
const TM: u32 = 4u;
const TN: u32 = 4u;
const K_BLOCK: u32 = 32u;

@group(0) @binding(0) var<uniform> p: Gemm;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let lanes_x = p.lanes_x;
    let lanes_y = WG / lanes_x;
    let col0 = wid.x * lanes_x * TN + lid % lanes_x;
    let row0 = (wid.y * lanes_y + lid / lanes_x) * TM;
    if col0 >= p.n || row0 >= p.m {
        return;
    }
    let z = wid.z;
    var a_row: array<u32, TM>;
    var b_col: array<u32, TN>;
    for (var i = 0u; i < TM; i++) {
        a_row[i] = p.a_off + z * p.a_z + min(row0 + i, p.m - 1u) * p.a_rs;
    }
    for (var j = 0u; j < TN; j++) {
        b_col[j] = p.b_off + z * p.b_z + min(col0 + j * lanes_x, p.n - 1u) * p.b_cs;
    }
    var acc: array<array<f32, TN>, TM>;
    for (var k0 = 0u; k0 < p.k; k0 += K_BLOCK) {
        var part: array<array<f32, TN>, TM>;
        let k_end = min(k0 + K_BLOCK, p.k);
        for (var k = k0; k < k_end; k++) {
            var bv: array<f32, TN>;
            for (var j = 0u; j < TN; j++) {
                bv[j] = b[b_col[j] + k * p.b_rs];
            }
            for (var i = 0u; i < TM; i++) {
                let av = a[a_row[i] + k * p.a_cs];
                for (var j = 0u; j < TN; j++) {
                    part[i][j] += av * bv[j];
                }
            }
        }
        for (var i = 0u; i < TM; i++) {
            for (var j = 0u; j < TN; j++) {
                acc[i][j] += part[i][j];
            }
        }
    }
    for (var i = 0u; i < TM; i++) {
        let row = row0 + i;
        if row >= p.m {
            break;
        }
        for (var j = 0u; j < TN; j++) {
            let col = col0 + j * lanes_x;
            if col >= p.n {
                break;
            }
            let at = p.c_off + z * p.c_z + row * p.c_rs + col;
            var v = acc[i][j];
            if (p.flags & BIAS) != 0u {
                v += bias[p.bias_off + z * p.bias_z + col];
            }
            if (p.flags & ACCUMULATE) != 0u {
                v += c[at];
            }
            c[at] = v;
        }
    }
}
