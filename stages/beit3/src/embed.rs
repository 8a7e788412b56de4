//! Embeddings: the vision patch embedding with its CLS token, and the two position tables.
//!
//! The text embedding is a plain `nn.Embedding` (no padding row, no scale) and lives in the
//! backbone directly.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;

use crate::config::Beit3Config;
use crate::init::trunc_normal_param;

/// `vision_embed`: a stride-`patch` convolution, then a CLS token in front.
#[derive(Module, Debug)]
pub struct VisionEmbed<B: Backend> {
    /// Patch projection, kernel = stride = patch size.
    pub proj: Conv2d<B>,
    /// The CLS token prepended to the patches.
    pub cls_token: Param<Tensor<B, 3>>,
    /// Masked-image-modelling token: in the checkpoints, unused for VQA.
    pub mask_token: Param<Tensor<B, 3>>,
}

impl<B: Backend> VisionEmbed<B> {
    /// The vision embedding of `config`.
    pub fn new(config: &Beit3Config, device: &B::Device) -> Self {
        let (d, p) = (config.embed_dim, config.patch_size);
        Self {
            proj: Conv2dConfig::new([config.in_chans, d], [p, p])
                .with_stride([p, p])
                .init(device),
            cls_token: trunc_normal_param([1, 1, d], 0.02, device),
            mask_token: trunc_normal_param([1, 1, d], 0.02, device),
        }
    }

    /// Patches in row-major order after the CLS token.
    ///
    /// # Shapes
    /// `image`: [B, C, S, S] → [B, 1 + N, D].
    pub fn forward(&self, image: Tensor<B, 4>) -> Tensor<B, 3> {
        let [batch, _, _, _] = image.dims();
        let patches = self.proj.forward(image);
        let [_, dim, gh, gw] = patches.dims();
        let patches = patches.reshape([batch, dim, gh * gw]).swap_dims(1, 2);
        let cls = self.cls_token.val().expand([batch, 1, dim]);
        Tensor::cat(vec![cls, patches], 1)
    }
}

/// `encoder.embed_positions`: table A for vision, table B for text; both start at row 2.
#[derive(Module, Debug)]
pub struct PositionTables<B: Backend> {
    /// Vision table, N + 3 rows.
    pub a: Embedding<B>,
    /// Text table, `max_text_positions` rows.
    pub b: Embedding<B>,
}

/// First row read from either table (fairseq's padding offset).
pub const POSITION_OFFSET: usize = 2;

impl<B: Backend> PositionTables<B> {
    /// The tables of `config`, truncated normal (0.02) as ViT and BEiT initialise position
    /// embeddings. (torchscale leaves `nn.Embedding`'s normal(0, 1), which every checkpoint
    /// overwrites; trained from scratch, positions that large drown the patch and token contents
    /// and a small model stays at chance for hundreds of steps.)
    pub fn new(config: &Beit3Config, device: &B::Device) -> Self {
        let d = config.embed_dim;
        let table = |rows: usize| {
            let mut table = EmbeddingConfig::new(rows, d).init(device);
            table.weight = trunc_normal_param([rows, d], 0.02, device);
            table
        };
        Self {
            a: table(config.vision_position_rows()),
            b: table(config.max_text_positions),
        }
    }

    /// Position embeddings of `vision` vision tokens then `text` text tokens (text restarts at row 2).
    ///
    /// # Shapes
    /// → [1, vision + text, D].
    pub fn forward(&self, vision: usize, text: usize) -> Tensor<B, 3> {
        let rows = |table: &Embedding<B>, count: usize| {
            let w = table.weight.val();
            let [_, d] = w.dims();
            w.slice([POSITION_OFFSET..POSITION_OFFSET + count, 0..d])
        };
        let mut parts = vec![rows(&self.a, vision)];
        if text > 0 {
            parts.push(rows(&self.b, text));
        }
        Tensor::cat(parts, 0).unsqueeze_dim(0)
    }
}
