//! Multiway self-attention: per-modality q/k/v/out projections and inner sub-LayerNorm,
//! joint softmax attention over all tokens with the key padding mask: fused ([`crate::flash`])
//! where the backend has it, decomposed otherwise.

use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{DType, FloatDType};

use crate::flash::registry;
use crate::multiway::{MultiwayLinear, MultiwayNorm};

/// `self_attn` of an encoder layer.
#[derive(Module, Debug)]
pub struct MultiwayAttention<B: Backend> {
    /// Query projection (biased; the query is scaled by `head_dim^-½` after the bias).
    pub q_proj: MultiwayLinear<B>,
    /// Key projection (biased).
    pub k_proj: MultiwayLinear<B>,
    /// Value projection (biased).
    pub v_proj: MultiwayLinear<B>,
    /// Output projection.
    pub out_proj: MultiwayLinear<B>,
    /// Sub-LayerNorm over the concatenated heads, before `out_proj`.
    pub inner_attn_ln: MultiwayNorm<B>,
    /// Number of heads.
    pub num_heads: usize,
    /// Use the backend's fused attention when it has one ([`crate::flash`]; on by default).
    pub fused: bool,
}

impl<B: Backend> MultiwayAttention<B> {
    /// Attention of width `dim` with `num_heads` heads.
    pub fn new(dim: usize, num_heads: usize, eps: f64, device: &B::Device) -> Self {
        Self {
            q_proj: MultiwayLinear::new(dim, dim, device),
            k_proj: MultiwayLinear::new(dim, dim, device),
            v_proj: MultiwayLinear::new(dim, dim, device),
            out_proj: MultiwayLinear::new(dim, dim, device),
            inner_attn_ln: MultiwayNorm::new(dim, eps, device),
            num_heads,
            fused: true,
        }
    }

    /// Self-attention over all tokens; padded keys (mask `true`) get no weight.
    ///
    /// # Shapes
    /// `x`: [B, n, D], `key_padding`: [B, n] (`true` = padding) → [B, n, D].
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        key_padding: Tensor<B, 2, Bool>,
        split: usize,
    ) -> Tensor<B, 3> {
        let [batch, n, dim] = x.dims();
        let x_dtype = x.dtype();
        let heads = |t: Tensor<B, 3>| {
            t.reshape([batch, n, self.num_heads, dim / self.num_heads])
                .swap_dims(1, 2)
        };
        // In the compute type: the projections feed the attention products directly.
        let q = heads(self.q_proj.forward_to_compute(x.clone(), split));
        let k = heads(self.k_proj.forward_to_compute(x.clone(), split));
        let v = heads(self.v_proj.forward_to_compute(x, split));
        let a = softmax_attention(q, k, v, key_padding, x_dtype, self.fused);
        let a = a.swap_dims(1, 2).reshape([batch, n, dim]).cast(x_dtype);
        let a = self.inner_attn_ln.forward(a, split);
        self.out_proj.forward(a, split)
    }

    /// Computes the projections and the attention's products in `compute` (`None`: the model's
    /// own type): the products take the type of the q, k, v projections, while the softmax stays
    /// in the model's own type.
    pub fn set_compute(&mut self, compute: Option<FloatDType>) {
        for proj in [
            &mut self.q_proj,
            &mut self.k_proj,
            &mut self.v_proj,
            &mut self.out_proj,
        ] {
            proj.compute = compute;
        }
    }
}

/// Softmax attention of `[B, H, n, d]` q, k, v over the unpadded keys (`key_padding` `[B, n]`,
/// `true` = padding), what each layer runs: the backend's fused attention when `fused` and the
/// backend has one ([`crate::flash`]), else the decomposed one (whose softmax is in
/// `softmax_dtype` when the products are in another type).
pub fn softmax_attention<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    key_padding: Tensor<B, 2, Bool>,
    softmax_dtype: DType,
    fused: bool,
) -> Tensor<B, 4> {
    let (q, k, v, key_padding) = if fused {
        match registry::fused(q, k, v, key_padding) {
            Ok(a) => return a,
            Err(inputs) => inputs,
        }
    } else {
        (q, k, v, key_padding)
    };
    let [batch, heads, n, _] = q.dims();
    let mask = key_padding.reshape([batch, 1, 1, n]);
    if q.dtype() == softmax_dtype {
        let mask = mask.expand([batch, heads, n, n]);
        // The default scale is head_dim^-½, the same as scaling q after its bias.
        attention(q, k, v, Some(mask), None, AttentionModuleOptions::default())
    } else {
        attention_f32_softmax(q, k, v, mask, softmax_dtype)
    }
}

/// Attention whose products run in q's float type (bf16) and whose softmax runs in `softmax`
/// (the model's own, f32), as the reference does under autocast: scores `q kᵀ · head_dim^-½` in the compute type,
/// masked and normalised in f32, then cast back for the product with v.
///
/// # Shapes
/// `q`, `k`, `v`: [B, H, n, d], `key_padding`: [B, 1, 1, n] → [B, H, n, d].
fn attention_f32_softmax<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    key_padding: Tensor<B, 4, Bool>,
    softmax: DType,
) -> Tensor<B, 4> {
    let compute = q.dtype();
    let [batch, heads, n, head_dim] = q.dims();
    let scale = (head_dim as f64).powf(-0.5);
    let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale).cast(softmax);
    let mask = key_padding.expand([batch, heads, n, n]);
    let probs = burn::tensor::activation::softmax(scores.mask_fill(mask, f32::NEG_INFINITY), 3);
    probs.cast(compute).matmul(v)
}
