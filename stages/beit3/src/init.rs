//! Parameter initialisation as the reference does it: truncated normals (timm `trunc_normal_`
//! with bounds ±std, as unilm's BEiT-3 calls it), created lazily so that a model that is
//! loaded or only counted never allocates its random weights.

use burn::module::{Param, ParamId};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;

/// Rounds of resampling out-of-bounds values; after them a value is out of bounds with
/// probability 0.32^24 ≈ 1e-12, and the last clamp only touches those.
const RESAMPLE_ROUNDS: usize = 24;

/// A tensor of normal(0, std) values truncated to [-std, std] (unilm's `trunc_normal_(std=std)`).
///
/// # Shapes
/// → `shape`.
pub fn trunc_normal<B: Backend, const D: usize>(
    shape: [usize; D],
    std: f64,
    device: &B::Device,
) -> Tensor<B, D> {
    let mut x = Tensor::<B, D>::random(shape, Distribution::Normal(0.0, 1.0), device);
    for _ in 0..RESAMPLE_ROUNDS {
        let out = x.clone().abs().greater_elem(1.0);
        let fresh = Tensor::<B, D>::random(shape, Distribution::Normal(0.0, 1.0), device);
        x = x.mask_where(out, fresh);
    }
    x.clamp(-1.0, 1.0).mul_scalar(std)
}

/// A lazily created parameter of truncated-normal values.
pub fn trunc_normal_param<B: Backend, const D: usize>(
    shape: [usize; D],
    std: f64,
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    Param::uninitialized(
        ParamId::new(),
        move |device, require_grad| {
            let t = trunc_normal::<B, D>(shape, std, device);
            if require_grad { t.require_grad() } else { t }
        },
        device.clone(),
        true,
        shape.into(),
    )
}

/// A lazily created parameter of zeros.
pub fn zeros_param<B: Backend, const D: usize>(
    shape: [usize; D],
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    nn::Initializer::Zeros.init(shape, device)
}

/// A Linear layer initialised as the reference's `_init_weights`: weight trunc-normal(0.02), bias 0.
pub fn reference_linear<B: Backend>(d_in: usize, d_out: usize, device: &B::Device) -> Linear<B> {
    let mut linear = LinearConfig::new(d_in, d_out).init(device);
    linear.weight = trunc_normal_param([d_in, d_out], 0.02, device);
    linear.bias = Some(zeros_param([d_out], device));
    linear
}
