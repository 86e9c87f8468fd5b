//! The one GEMM the fast CPU path calls, on the `gemm` crate (packed, cache-blocked kernels with
//! runtime-selected AVX-512 / AVX2 / NEON / SIMD128 micro-kernels, threads from rayon).

/// `C = A · B` for A (m, k) with row stride `lda`, B (k, n) row-major contiguous, and C (m, n)
/// with row stride `ldc`; `threads > 1` lets `gemm` split the product over rayon's pool.
///
/// Panics if a slice is too short for its shape (a bug in the caller, never bad user input).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    c: &mut [f32],
    ldc: usize,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(lda >= k && ldc >= n, "row strides shorter than rows");
    assert!(a.len() >= (m - 1) * lda + k, "A too short");
    assert!(b.len() >= k * n, "B too short");
    assert!(c.len() >= (m - 1) * ldc + n, "C too short");
    if k == 0 {
        for row in c.chunks_mut(ldc).take(m) {
            row[..n].fill(0.0);
        }
        return;
    }
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every element the strides address inside its slice; `c`
    // is borrowed mutably, so it aliases neither `a` nor `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            false,
            a.as_ptr(),
            1,
            lda as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// The rate of [`matmul`] in GFLOP/s on `threads` threads for an (m, k)·(k, n) product: the
/// median of `runs` timed products after one untimed.
pub fn measure_gflops((m, k, n): (usize, usize, usize), threads: usize, runs: usize) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 / 13.0 - 0.5).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 11) as f32 / 11.0 - 0.5).collect();
    let mut c = vec![0.0; m * n];
    let timings = crate::bench::Timings::measure(1, runs.max(1), || {
        matmul((m, k, n), &a, k, &b, &mut c, n, threads);
        Ok::<(), ()>(())
    })
    .expect("matmul cannot fail");
    2.0 * (m * k * n) as f64 / (timings.median_ms() * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Odd shapes and strides against a plain triple loop in f64.
    #[test]
    fn matches_a_plain_product() {
        for &(m, k, n, lda, ldc, threads) in &[
            (1, 7, 5, 7, 5, 1),
            (3, 13, 29, 17, 31, 1),
            (37, 61, 93, 64, 100, 2),
            (5, 0, 4, 0, 4, 1),
        ] {
            let a: Vec<f32> = (0..m * lda.max(1))
                .map(|i| ((i * 7 % 19) as f32 - 9.0) / 8.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 23) as f32 - 11.0) / 7.0)
                .collect();
            let mut c = vec![f32::NAN; m * ldc];
            matmul((m, k, n), &a, lda, &b, &mut c, ldc, threads);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|p| a[i * lda + p] as f64 * b[p * n + j] as f64)
                        .sum();
                    let got = c[i * ldc + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                        "{m}x{k}x{n} [{i},{j}]: {got} vs {want}"
                    );
                }
                assert!(
                    c[i * ldc + n..(i + 1) * ldc].iter().all(|v| v.is_nan()),
                    "wrote past n"
                );
            }
        }
    }
}
