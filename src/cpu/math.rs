//! Branch-free f32 `exp`, `sigmoid`, `tanh` and `relu` that the compiler vectorizes when they are
//! inlined into a loop (libm's scalar calls are not), accurate to a few ulp: Cephes' `expf` and
//! `tanhf` polynomials. NaN propagates as in PyTorch; ±∞ saturate.

/// `1.5·2²³`: adding it rounds an f32 of magnitude < 2²² to an integer, kept in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// `eˣ` for x clamped to [-87, 88] (normal results only; callers need no more: beyond that the
/// sigmoid and tanh below are within 1e-38 of their limits). NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Comparisons, not f32::max/min, so NaN passes through.
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND; // round(x·log2 e), in -126..=127
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4; // x − n·ln 2 in two parts
    let z = r * r;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let y = p * z + r + 1.0;
    // 2ⁿ from n's bits in `shifted`: (n + 127) << 23.
    let bits = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127)
        << 23;
    y * f32::from_bits(bits)
}

/// `1 / (1 + e⁻ˣ)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x`: Cephes' odd polynomial for |x| < 0.625, else `1 − 2/(e^{2|x|} + 1)` with x's sign.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let p = -5.704_988_7e-3_f32;
    let p = p * z + 2.063_909e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 0.333_332_8;
    let small = x + x * z * p;
    let big = (1.0 - 2.0 / (exp(2.0 * a) + 1.0)).copysign(x);
    if a < 0.625 { small } else { big }
}

/// PyTorch's relu: NaN stays NaN.
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function against f64 libm over a dense sweep: within 2e-7 absolute (or relative for exp).
    #[test]
    fn match_libm_over_a_sweep() {
        let mut worst = [0f64; 4];
        for i in -400_000..=400_000 {
            let x = i as f32 * 1e-4 + (i % 7) as f32 * 1.3e-6; // [-40, 40], not on a grid
            let xd = x as f64;
            let e = (exp(x) as f64 - xd.exp()).abs() / xd.exp();
            let s = (sigmoid(x) as f64 - 1.0 / (1.0 + (-xd).exp())).abs();
            let t = (tanh(x) as f64 - xd.tanh()).abs();
            let r = (relu(x) as f64 - xd.max(0.0)).abs();
            for (w, v) in worst.iter_mut().zip([e, s, t, r]) {
                *w = w.max(v);
            }
        }
        assert!(worst[0] < 3e-7, "exp relative error {}", worst[0]);
        assert!(worst[1] < 2e-7, "sigmoid error {}", worst[1]);
        assert!(worst[2] < 2e-7, "tanh error {}", worst[2]);
        assert_eq!(worst[3], 0.0);
    }

    #[test]
    fn limits_and_nan() {
        for f in [exp, sigmoid, tanh, relu] {
            assert!(f(f32::NAN).is_nan());
        }
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert!((0.0..1e-37).contains(&sigmoid(f32::NEG_INFINITY)));
        assert!(sigmoid(-200.0) < 1e-37);
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert_eq!(relu(-3.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }
}
