//! The whole VQA model (`BEiT3ForVisualQuestionAnswering`): backbone, pooler and head.

use burn::prelude::*;
use burn::tensor::FloatDType;

use crate::backbone::Beit3;
use crate::config::VqaConfig;
use crate::error::ConfigError;
use crate::head::{Pooler, VqaHead};

/// BEiT-3 with the VQA pooler and head; field names match the checkpoint keys.
#[derive(Module, Debug)]
pub struct VqaModel<B: Backend> {
    /// The backbone (`beit3.*`).
    pub beit3: Beit3<B>,
    /// The pooler on the vision CLS (`pooler.*`).
    pub pooler: Pooler<B>,
    /// The classification head (`head.*`).
    pub head: VqaHead<B>,
}

/// Everything a forward pass produces.
#[derive(Debug, Clone)]
pub struct VqaOutput<B: Backend> {
    /// [B, 1+N+T, D]: the encoder output.
    pub encoder_out: Tensor<B, 3>,
    /// [B, D]: the pooler output.
    pub pooled: Tensor<B, 2>,
    /// [B, C]: the logits.
    pub logits: Tensor<B, 2>,
}

impl<B: Backend> VqaModel<B> {
    /// A model of `config` on `device`. Parameters are created lazily: nothing is allocated
    /// until a parameter is used, and a loaded one is never randomly initialised. The pooler
    /// and head follow the reference initialisation (truncated normal 0.02, zero biases).
    pub fn new(config: &VqaConfig, device: &B::Device) -> Result<Self, ConfigError> {
        config.validate()?;
        let d = config.encoder.embed_dim;
        Ok(Self {
            beit3: Beit3::new(&config.encoder, device),
            pooler: Pooler::new(d, device),
            head: VqaHead::new(d, config.task.num_classes(), device),
        })
    }

    /// Computes the encoder's matrix products in `compute` (bf16 for mixed precision on CUDA;
    /// `None`, the default, keeps the model's own type); see [`crate::precision`].
    pub fn set_compute(&mut self, compute: Option<FloatDType>) {
        for layer in &mut self.beit3.encoder.layers {
            layer.self_attn.set_compute(compute);
            layer.ffn.a.compute = compute;
            layer.ffn.b.compute = compute;
        }
    }

    /// Uses the backend's fused attention where it has one (`true`, the default) or always the
    /// decomposed one (`false`, for comparison); see [`crate::flash`].
    pub fn set_fused_attention(&mut self, fused: bool) {
        for layer in &mut self.beit3.encoder.layers {
            layer.self_attn.fused = fused;
        }
    }

    /// The logits, with the intermediate results.
    ///
    /// # Shapes
    /// `image`: [B, C_in, S, S] (normalised to [-1, 1]), `question`: [B, T] token ids,
    /// `padding`: [B, T] (`true` = padding) → encoder_out [B, 1+N+T, D], pooled [B, D], logits [B, C].
    pub fn forward_detailed(
        &self,
        image: Tensor<B, 4>,
        question: Tensor<B, 2, Int>,
        padding: Tensor<B, 2, Bool>,
    ) -> VqaOutput<B> {
        let encoder_out = self.beit3.forward(image, question, padding);
        let [batch, _, d] = encoder_out.dims();
        let cls = encoder_out
            .clone()
            .slice([0..batch, 0..1, 0..d])
            .reshape([batch, d]);
        let pooled = self.pooler.forward(cls);
        let logits = self.head.forward(pooled.clone());
        VqaOutput {
            encoder_out,
            pooled,
            logits,
        }
    }

    /// The logits.
    ///
    /// # Shapes
    /// `image`: [B, C_in, S, S], `question`: [B, T], `padding`: [B, T] (`true` = padding) → [B, C].
    pub fn forward(
        &self,
        image: Tensor<B, 4>,
        question: Tensor<B, 2, Int>,
        padding: Tensor<B, 2, Bool>,
    ) -> Tensor<B, 2> {
        self.forward_detailed(image, question, padding).logits
    }
}
