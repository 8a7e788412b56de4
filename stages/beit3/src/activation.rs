//! Exact (erf) GELU written from primitives, so that its gradient is exact too.
//!
//! Burn's `Gelu` forward is exact, but its autodiff backward uses the tanh-approximation
//! derivative (off by up to 3.6e-4); PyTorch's `F.gelu` is exact in both directions.

use burn::prelude::*;

/// `x · ½ · (1 + erf(x / √2))`, exact in the forward and the backward pass.
///
/// # Shapes
/// any shape → the same shape.
pub fn gelu_exact<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let cdf = (x.clone() / std::f64::consts::SQRT_2)
        .erf()
        .add_scalar(1.0)
        .mul_scalar(0.5);
    x * cdf
}
