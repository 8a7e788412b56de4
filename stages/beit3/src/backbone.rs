//! The BEiT-3 backbone (`beit3.*` in the checkpoints): embeddings and encoder, in joint
//! vision-language mode (vision tokens first, then text; multiway split = 1 + N).

use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::prelude::*;

use crate::config::Beit3Config;
use crate::embed::VisionEmbed;
use crate::encoder::Encoder;

/// `beit3`.
#[derive(Module, Debug)]
pub struct Beit3<B: Backend> {
    /// Text token embedding (`vocab_size` rows, no padding row).
    pub text_embed: Embedding<B>,
    /// Patch embedding and CLS token.
    pub vision_embed: VisionEmbed<B>,
    /// Position tables and layers.
    pub encoder: Encoder<B>,
    /// Expected image size (checked in `forward`).
    pub img_size: usize,
    /// Rows of the text position table (limits the question length).
    pub max_text_positions: usize,
}

impl<B: Backend> Beit3<B> {
    /// The backbone of `config`; parameters are created lazily.
    pub fn new(config: &Beit3Config, device: &B::Device) -> Self {
        Self {
            // torchscale's initialisation of the token table: normal(0, D^-½).
            text_embed: EmbeddingConfig::new(config.vocab_size, config.embed_dim)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: (config.embed_dim as f64).powf(-0.5),
                })
                .init(device),
            vision_embed: VisionEmbed::new(config, device),
            encoder: Encoder::new(config, device),
            img_size: config.img_size,
            max_text_positions: config.max_text_positions,
        }
    }

    /// The input of layer 0 and the full padding mask.
    ///
    /// # Shapes
    /// `image`: [B, C, S, S], `question`: [B, T], `padding`: [B, T] (`true` = padding)
    /// → ([B, 1+N+T, D], [B, 1+N+T] padding, split = 1+N).
    ///
    /// # Panics
    /// If the image is not S×S or the question is longer than the text position table allows.
    pub fn embed(
        &self,
        image: Tensor<B, 4>,
        question: Tensor<B, 2, Int>,
        padding: Tensor<B, 2, Bool>,
    ) -> (Tensor<B, 3>, Tensor<B, 2, Bool>, usize) {
        let [batch, _, h, w] = image.dims();
        let [_, text_len] = question.dims();
        assert!(
            h == self.img_size && w == self.img_size,
            "image is {h}x{w}, the model expects {0}x{0}",
            self.img_size
        );
        assert!(
            text_len + 2 <= self.max_text_positions,
            "question has {text_len} tokens, the text position table allows {}",
            self.max_text_positions - 2
        );
        let vision = self.vision_embed.forward(image);
        let split = vision.dims()[1];
        let text = self.text_embed.forward(question);
        let tokens = Tensor::cat(vec![vision, text], 1);
        let vision_pad = Tensor::<B, 2, Int>::zeros([batch, split], &padding.device()).bool();
        let padding = Tensor::cat(vec![vision_pad, padding], 1);
        let x = self.encoder.embed(tokens, padding.clone(), split);
        (x, padding, split)
    }

    /// The encoder output (raw residual stream, no final LayerNorm).
    ///
    /// # Shapes
    /// `image`: [B, C, S, S], `question`: [B, T], `padding`: [B, T] (`true` = padding) → [B, 1+N+T, D].
    pub fn forward(
        &self,
        image: Tensor<B, 4>,
        question: Tensor<B, 2, Int>,
        padding: Tensor<B, 2, Bool>,
    ) -> Tensor<B, 3> {
        let (x, padding, split) = self.embed(image, question, padding);
        self.encoder.forward(x, padding, split)
    }
}
