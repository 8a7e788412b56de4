//! Model hyper-parameters: the `base` and `large` presets at any image size, and custom sizes.
//!
//! Everything is serde-deserializable (and has a JSON schema) so a manifest can give a
//! configuration directly, either as a preset name plus image size or field by field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Hyper-parameters of the BEiT-3 multiway encoder (the backbone, without the VQA head).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Beit3Config {
    /// Model width D (768 for base, 1024 for large).
    pub embed_dim: usize,
    /// Number of multiway encoder layers L (12 for base, 24 for large).
    pub depth: usize,
    /// Number of attention heads H; `embed_dim` must be a multiple of it.
    pub num_heads: usize,
    /// Hidden width F of the feed-forward networks (4·D in the official models).
    pub ffn_dim: usize,
    /// Square input image size S in pixels (224, 384, 480 or 768 for the official models).
    pub img_size: usize,
    /// Patch size of the vision embedding; `img_size` must be a multiple of it.
    #[serde(default = "default_patch_size")]
    pub patch_size: usize,
    /// Number of input image channels.
    #[serde(default = "default_in_chans")]
    pub in_chans: usize,
    /// Rows of the text embedding table (64010 for the official checkpoints).
    #[serde(default = "default_vocab_size")]
    pub vocab_size: usize,
    /// Rows of the text position table (`max_source_positions`, 1024 officially); rows 0 and 1 are unused.
    #[serde(default = "default_text_positions")]
    pub max_text_positions: usize,
    /// Epsilon of every LayerNorm.
    #[serde(default = "default_eps")]
    pub layernorm_eps: f64,
    /// Largest drop-path rate (last layer); layer l uses `rate · l / (L-1)`. Only active under autodiff.
    #[serde(default)]
    pub drop_path_rate: f64,
}

fn default_patch_size() -> usize {
    16
}
fn default_in_chans() -> usize {
    3
}
fn default_vocab_size() -> usize {
    64010
}
fn default_text_positions() -> usize {
    1024
}
fn default_eps() -> f64 {
    1e-5
}

/// The two official model sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// D 768, 12 layers, 12 heads, F 3072.
    Base,
    /// D 1024, 24 layers, 16 heads, F 4096.
    Large,
}

impl Preset {
    /// The official configuration of this size at `img_size` pixels (patch 16, vocabulary 64010).
    pub fn config(self, img_size: usize) -> Beit3Config {
        let (embed_dim, depth, num_heads) = match self {
            Preset::Base => (768, 12, 12),
            Preset::Large => (1024, 24, 16),
        };
        Beit3Config {
            embed_dim,
            depth,
            num_heads,
            ffn_dim: 4 * embed_dim,
            img_size,
            patch_size: default_patch_size(),
            in_chans: default_in_chans(),
            vocab_size: default_vocab_size(),
            max_text_positions: default_text_positions(),
            layernorm_eps: default_eps(),
            drop_path_rate: 0.0,
        }
    }
}

impl Beit3Config {
    /// `base` at `img_size` pixels.
    pub fn base(img_size: usize) -> Self {
        Preset::Base.config(img_size)
    }

    /// `large` at `img_size` pixels.
    pub fn large(img_size: usize) -> Self {
        Preset::Large.config(img_size)
    }

    /// The same configuration with another drop-path rate.
    pub fn with_drop_path_rate(mut self, rate: f64) -> Self {
        self.drop_path_rate = rate;
        self
    }

    /// Patches per side (`img_size / patch_size`).
    pub fn grid(&self) -> usize {
        self.img_size / self.patch_size
    }

    /// Number of image patches N.
    pub fn num_patches(&self) -> usize {
        self.grid() * self.grid()
    }

    /// Vision tokens (CLS + patches): the multiway split position.
    pub fn vision_tokens(&self) -> usize {
        1 + self.num_patches()
    }

    /// Rows of the vision position table A (N + 3: two unused rows, then CLS, then patches).
    pub fn vision_position_rows(&self) -> usize {
        self.num_patches() + 3
    }

    /// Longest question (in tokens, `<s>` and `</s>` included) the text position table allows.
    pub fn max_text_len(&self) -> usize {
        self.max_text_positions.saturating_sub(2)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.num_heads
    }

    /// Drop-path rate of every layer: linear from 0 (first layer) to `drop_path_rate` (last).
    pub fn drop_path_rates(&self) -> Vec<f64> {
        let l = self.depth;
        (0..l)
            .map(|i| {
                if l > 1 {
                    self.drop_path_rate * i as f64 / (l - 1) as f64
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Checks that the sizes fit together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |msg: String| Err(ConfigError(msg));
        let positive = [
            ("embed_dim", self.embed_dim),
            ("depth", self.depth),
            ("num_heads", self.num_heads),
            ("ffn_dim", self.ffn_dim),
            ("img_size", self.img_size),
            ("patch_size", self.patch_size),
            ("in_chans", self.in_chans),
            ("vocab_size", self.vocab_size),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return fail(format!("`{name}` must be greater than 0"));
        }
        if !self.embed_dim.is_multiple_of(self.num_heads) {
            return fail(format!(
                "`embed_dim` ({}) must be a multiple of `num_heads` ({})",
                self.embed_dim, self.num_heads
            ));
        }
        if !self.img_size.is_multiple_of(self.patch_size) {
            return fail(format!(
                "`img_size` ({}) must be a multiple of `patch_size` ({})",
                self.img_size, self.patch_size
            ));
        }
        if self.max_text_positions < 3 {
            return fail(
                "`max_text_positions` must be at least 3 (rows 0 and 1 are unused)".into(),
            );
        }
        if !(0.0..1.0).contains(&self.drop_path_rate) {
            return fail(format!(
                "`drop_path_rate` ({}) must be in [0, 1)",
                self.drop_path_rate
            ));
        }
        Ok(())
    }
}

/// A full VQA model: the encoder and the task of its head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VqaConfig {
    /// The multiway encoder.
    pub encoder: Beit3Config,
    /// What the head predicts (and so its number of outputs C).
    pub task: crate::head::HeadTask,
}

impl VqaConfig {
    /// Checks the encoder sizes and the number of classes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.encoder.validate()?;
        if self.task.num_classes() == 0 {
            return Err(ConfigError("the VQA head needs at least one class".into()));
        }
        Ok(())
    }
}
