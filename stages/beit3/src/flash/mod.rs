//! Attention that trains in O(n) memory: a fused attention with its own backward, in the manner of
//! FlashAttention-2 (Dao, 2023, arXiv:2307.08691), as CubeCL kernels for every CubeCL backend
//! (`burn-cuda`, `burn-wgpu`, with or without fusion). Burn 0.21's `attention` under autodiff is
//! always decomposed (matmul, mask, softmax, matmul) and keeps the n x n scores of every layer for
//! the backward pass; this keeps the output and one log-sum-exp per row, and recomputes the
//! scores tile by tile in the backward.
//!
//! - [`kernels`]: the forward, dK/dV and dQ kernels;
//! - [`cube`]: launching them on a `CubeBackend`;
//! - [`fusion`]: the same as custom operations of a `Fusion` backend's stream;
//! - [`autodiff`]: the op under `Autodiff`, whose backward calls the kernels.
//!
//! The kernels need the `flash` feature (on with the trainer's `cuda` and `wgpu` features).
//! Generic model code reaches the op through [`registry`]: a backend the model may run on is
//! registered once (`register::<B>()`, by whoever names the concrete backend), and
//! [`registry::fused`] finds it by type; CPU backends are not registered and keep the decomposed
//! attention.

mod autodiff;
#[cfg(feature = "flash")]
mod cube;
#[cfg(feature = "flash")]
mod fusion;
#[cfg(feature = "flash")]
mod kernels;
pub mod registry;

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn::tensor::backend::Backend;
use burn::tensor::ops::{BoolTensor, FloatTensor};

pub use registry::register;

/// The fused kernels of a backend: the output `[B, H, n, d]` in q's float type and the log-sum-exp
/// `[B, H, n]` in f32 forward; dQ, dK, dV backward.
pub trait FlashKernels: Backend {
    /// `softmax(scale · q kᵀ, keys with key_pad true excluded) v`, and each row's log-sum-exp.
    fn flash_attention_forward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// The gradients of q, k and v, given the forward's output, log-sum-exp and the output's
    /// gradient.
    #[allow(clippy::too_many_arguments)]
    fn flash_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The differentiable fused attention of a backend.
pub trait FlashAttention: Backend {
    fn flash_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self>;
}

#[cfg(feature = "flash")]
impl<R, F, I, BT> FlashAttention for burn_cubecl::CubeBackend<R, F, I, BT>
where
    R: burn_cubecl::CubeRuntime,
    F: burn_cubecl::FloatElement,
    I: burn_cubecl::IntElement,
    BT: burn_cubecl::BoolElement,
{
    fn flash_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        Self::flash_attention_forward(q, k, v, key_pad, scale).0
    }
}

#[cfg(feature = "flash")]
impl<B: burn_fusion::FusionBackend + FlashKernels> FlashAttention for burn_fusion::Fusion<B> {
    fn flash_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        Self::flash_attention_forward(q, k, v, key_pad, scale).0
    }
}

/// Fused attention over `[B, H, n, d]` q, k, v with the key padding mask `[B, n]` (`true` =
/// padding), at the usual scale `d^-½`: equal to `attention(q, k, v, mask)` without its n x n
/// intermediates.
pub fn flash_attention<B: FlashAttention>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    key_pad: Tensor<B, 2, Bool>,
) -> Tensor<B, 4> {
    let scale = (q.dims()[3] as f32).powf(-0.5);
    Tensor::from_primitive(TensorPrimitive::Float(B::flash_attention(
        q.into_primitive().tensor(),
        k.into_primitive().tensor(),
        v.into_primitive().tensor(),
        key_pad.into_primitive(),
        scale,
    )))
}
