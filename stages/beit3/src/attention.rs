//! Multiway self-attention: per-modality q/k/v/out projections and inner sub-LayerNorm,
//! joint softmax attention over all tokens with the key padding mask.

use burn::prelude::*;
use burn::tensor::FloatDType;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

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
        let mask = key_padding
            .reshape([batch, 1, 1, n])
            .expand([batch, self.num_heads, n, n]);
        // The default scale is head_dim^-½, the same as scaling q after its bias.
        let a = attention(q, k, v, Some(mask), None, AttentionModuleOptions::default());
        let a = a.swap_dims(1, 2).reshape([batch, n, dim]).cast(x_dtype);
        let a = self.inner_attn_ln.forward(a, split);
        self.out_proj.forward(a, split)
    }

    /// Computes the projections and the attention in `compute` (`None`: the model's own type):
    /// the attention's products take the type of the q, k, v projections.
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
