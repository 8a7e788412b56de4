//! The encoder: position tables and the stack of multiway layers (no final LayerNorm for VQA).

use burn::prelude::*;

use crate::config::Beit3Config;
use crate::embed::PositionTables;
use crate::layer::EncoderLayer;

/// `beit3.encoder`.
#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    /// The vision (A) and text (B) position tables.
    pub embed_positions: PositionTables<B>,
    /// The L multiway layers.
    pub layers: Vec<EncoderLayer<B>>,
}

impl<B: Backend> Encoder<B> {
    /// The encoder of `config`, with the linear drop-path schedule.
    pub fn new(config: &Beit3Config, device: &B::Device) -> Self {
        let layers = config
            .drop_path_rates()
            .into_iter()
            .map(|rate| EncoderLayer::new(config, rate, device))
            .collect();
        Self {
            embed_positions: PositionTables::new(config, device),
            layers,
        }
    }

    /// Adds the positions and zeroes the padded tokens: the input of layer 0.
    ///
    /// # Shapes
    /// `tokens`: [B, n, D] (vision then text), `padding`: [B, n] (`true` = padding),
    /// `split` = vision tokens → [B, n, D].
    pub fn embed(
        &self,
        tokens: Tensor<B, 3>,
        padding: Tensor<B, 2, Bool>,
        split: usize,
    ) -> Tensor<B, 3> {
        let [_, n, _] = tokens.dims();
        let x = tokens + self.embed_positions.forward(split, n - split);
        let keep = padding.bool_not().float().unsqueeze_dim::<3>(2);
        x * keep
    }

    /// Runs every layer.
    ///
    /// # Shapes
    /// `x`: [B, n, D], `padding`: [B, n] (`true` = padding) → [B, n, D].
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        padding: Tensor<B, 2, Bool>,
        split: usize,
    ) -> Tensor<B, 3> {
        self.layers
            .iter()
            .fold(x, |x, layer| layer.forward(x, padding.clone(), split))
    }
}
