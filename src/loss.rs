//! Losses for training: the value and the gradient a backward starts from.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// `torch.nn.functional.mse_loss(output, target)` (mean reduction): returns the loss
/// `mean((output − target)²)` (computed in f64) and its gradient `2·(output − target)/numel`, the
/// `grad_output` of a backward. `target` must have `output`'s shape.
pub fn mse_loss(output: &Tensor, target: &Tensor) -> Result<(f64, Tensor)> {
    if output.shape() != target.shape() {
        return Err(Error::ShapeMismatch {
            name: "target".into(),
            actual: target.shape().to_vec(),
            expected: format!(
                "the output it is compared with has shape {:?}",
                output.shape()
            ),
        });
    }
    let numel = output.data().len().max(1) as f64;
    let diff: Vec<f64> = output
        .data()
        .iter()
        .zip(target.data())
        .map(|(&o, &t)| o as f64 - t as f64)
        .collect();
    let loss = diff.iter().map(|d| d * d).sum::<f64>() / numel;
    let grad = diff.iter().map(|d| (2.0 * d / numel) as f32).collect();
    Ok((loss, Tensor::new(output.shape(), grad)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_loss_is_the_mean_square_and_its_gradient() {
        let o = Tensor::new([2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let t = Tensor::new([2, 2], vec![1.5, 2.0, 1.0, 4.0]).unwrap();
        let (loss, grad) = mse_loss(&o, &t).unwrap();
        assert_eq!(loss, (0.25 + 4.0) / 4.0);
        assert_eq!(grad.data(), &[-0.25, 0.0, 1.0, 0.0]);
        let wrong = Tensor::zeros([4]);
        assert!(
            mse_loss(&o, &wrong)
                .unwrap_err()
                .to_string()
                .contains("target")
        );
    }
}
