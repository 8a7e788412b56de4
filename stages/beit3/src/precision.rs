//! Mixed precision: the encoder's matrix products (its Linear layers and attention) in a lower
//! float type, bf16 on CUDA, while the parameters, LayerNorms, residual stream, head and loss
//! stay in the model's own type (f32). Burn 0.21 has no autocast; this is the manual form of it.
//! Gradients flow through the casts back to the f32 parameters, so no loss scaling is needed
//! for bf16.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::FloatDType;

/// `x W^T + b` computed in `compute` (when given) and returned in `x`'s own type.
///
/// # Shapes
/// `x`: [..., d_in] → [..., d_out].
pub fn linear_in<B: Backend, const D: usize>(
    linear: &Linear<B>,
    x: Tensor<B, D>,
    compute: Option<FloatDType>,
) -> Tensor<B, D> {
    let back = x.dtype();
    linear_to_compute(linear, x, compute).cast(back)
}

/// `x W^T + b` computed and returned in `compute` (when given; else in `x`'s own type), for a
/// product whose result feeds another product in the same type.
///
/// The leading dimensions are flattened first: one `[rows, d_in] x [d_in, d_out]` product, whose
/// weight gradient is one matrix product too (a 3-D input makes Burn compute it as a batched
/// product and a sum over the batch).
///
/// # Shapes
/// `x`: [..., d_in] → [..., d_out].
pub fn linear_to_compute<B: Backend, const D: usize>(
    linear: &Linear<B>,
    x: Tensor<B, D>,
    compute: Option<FloatDType>,
) -> Tensor<B, D> {
    let mut dims = x.dims();
    let rows: Tensor<B, 2> = x.flatten(0, D - 2);
    let y = match compute {
        None => linear.forward(rows),
        Some(dtype) => {
            let weight = linear.weight.val().cast(dtype);
            let bias = linear.bias.as_ref().map(|b| b.val().cast(dtype));
            burn::tensor::module::linear(rows.cast(dtype), weight, bias)
        }
    };
    dims[D - 1] = y.dims()[1];
    y.reshape(dims)
}
