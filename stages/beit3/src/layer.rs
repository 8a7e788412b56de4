//! One multiway encoder layer: pre-LN attention and pre-LN FFN, each with a residual and drop path.

use burn::prelude::*;

use crate::attention::MultiwayAttention;
use crate::config::Beit3Config;
use crate::drop_path::DropPath;
use crate::ffn::MultiwayFfn;
use crate::multiway::MultiwayNorm;

/// `encoder.layers.{i}`.
#[derive(Module, Debug)]
pub struct EncoderLayer<B: Backend> {
    /// Joint multiway self-attention.
    pub self_attn: MultiwayAttention<B>,
    /// LayerNorm before the attention.
    pub self_attn_layer_norm: MultiwayNorm<B>,
    /// Multiway feed-forward network.
    pub ffn: MultiwayFfn<B>,
    /// LayerNorm before the FFN.
    pub final_layer_norm: MultiwayNorm<B>,
    /// Stochastic depth, shared by both residual branches (independent draws).
    pub drop_path: DropPath,
}

impl<B: Backend> EncoderLayer<B> {
    /// A layer of `config`'s sizes with drop-path rate `drop_path`.
    pub fn new(config: &Beit3Config, drop_path: f64, device: &B::Device) -> Self {
        let (d, eps) = (config.embed_dim, config.layernorm_eps);
        Self {
            self_attn: MultiwayAttention::new(d, config.num_heads, eps, device),
            self_attn_layer_norm: MultiwayNorm::new(d, eps, device),
            ffn: MultiwayFfn::new(d, config.ffn_dim, eps, device),
            final_layer_norm: MultiwayNorm::new(d, eps, device),
            drop_path: DropPath::new(drop_path),
        }
    }

    /// # Shapes
    /// `x`: [B, n, D], `key_padding`: [B, n] (`true` = padding) → [B, n, D].
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        key_padding: Tensor<B, 2, Bool>,
        split: usize,
    ) -> Tensor<B, 3> {
        let h = self.self_attn_layer_norm.forward(x.clone(), split);
        let h = self.self_attn.forward(h, key_padding, split);
        let x = x + self.drop_path.forward(h);
        let h = self.final_layer_norm.forward(x.clone(), split);
        let h = self.ffn.forward(h, split);
        x + self.drop_path.forward(h)
    }
}
