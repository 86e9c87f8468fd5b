//! A minimal owned, row-major f32 tensor: the unit of exchange between files, the CPU reference
//! and the GPU path.

use crate::error::{Error, Result};

/// A dense row-major tensor of `f32` with a shape. `data.len()` is always the product of `shape`
/// (1 for a scalar with an empty shape).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// Builds a tensor, refusing data whose length is not the product of `shape`.
    pub fn new(shape: impl Into<Vec<usize>>, data: Vec<f32>) -> Result<Self> {
        let shape = shape.into();
        let numel = checked_numel(&shape)?;
        if numel != data.len() {
            return Err(Error::ShapeMismatch {
                name: "tensor data".into(),
                actual: vec![data.len()],
                expected: format!("shape {shape:?} needs {numel} elements"),
            });
        }
        Ok(Self { shape, data })
    }

    /// A tensor of zeros.
    pub fn zeros(shape: impl Into<Vec<usize>>) -> Self {
        let shape = shape.into();
        let numel = shape.iter().product();
        Self {
            shape,
            data: vec![0.0; numel],
        }
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in row-major order, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Gives up the elements.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The same elements under another shape with the same element count.
    pub fn reshape(self, shape: impl Into<Vec<usize>>) -> Result<Self> {
        Self::new(shape, self.data)
    }
}

/// The product of `shape`, refusing overflow.
pub(crate) fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::TooLarge {
            what: format!("a tensor of shape {shape:?}"),
            bytes: u128::MAX,
            limit: usize::MAX as u128,
        })
}
