//! How a manifest names a model: `model = "base"` or `"large"` (the official sizes), or a table of
//! custom sizes for small experiments, plus the image size and the kind of head.

use std::fmt;

use beit3::{Beit3Config, HeadTask, Preset, VqaConfig};
use pipeline_api::ParamError;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};
use serde::{Deserialize, Deserializer, Serialize};

/// A model size: a preset name or custom dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ModelSpec {
    /// `"base"` (D 768, 12 layers) or `"large"` (D 1024, 24 layers), vocabulary 64010.
    Preset(Preset),
    /// Custom sizes, for example `{ embed_dim = 64, depth = 2, num_heads = 4, ffn_dim = 256,
    /// patch_size = 8, vocab_size = 2000 }`.
    Custom(CustomDims),
}

/// Sizes of a custom (small) model. Each field's doc names it as the reference implementation
/// does (torchscale's `EncoderConfig`, as unilm's BEiT-3 builds it); settings not listed here are
/// those of the official models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomDims {
    /// Model width D: every token's size (768 base, 1024 large). Reference: `encoder_embed_dim`.
    pub embed_dim: usize,
    /// Multiway encoder layers L (12 base, 24 large). Reference: `encoder_layers`.
    pub depth: usize,
    /// Attention heads H; `embed_dim` must be a multiple of it (12 base, 16 large). Reference:
    /// `encoder_attention_heads`.
    pub num_heads: usize,
    /// Hidden width F of the feed-forward networks (4 D officially: 3072 base, 4096 large).
    /// Reference: `encoder_ffn_embed_dim`.
    pub ffn_dim: usize,
    /// Side of the square image patches (16 officially); `image_size` must be a multiple of it.
    /// Reference: `patch_size` (beside `img_size`, which is `image_size` here, in the BEiT-3 model
    /// arguments).
    #[serde(default = "default_patch")]
    pub patch_size: usize,
    /// Rows of the text embedding: more than the largest token id of the tokenizer (64010
    /// officially). Reference: `vocab_size`.
    #[serde(default = "default_vocab")]
    pub vocab_size: usize,
    /// Rows of the text position table (1024 officially); questions are at most this minus 2
    /// tokens long. Reference: `max_source_positions`.
    #[serde(default = "default_positions")]
    pub max_text_positions: usize,
}

fn default_patch() -> usize {
    16
}
fn default_vocab() -> usize {
    64010
}
fn default_positions() -> usize {
    1024
}

impl<'de> Deserialize<'de> for ModelSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = ModelSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"base\", \"large\" or a table of custom sizes")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ModelSpec, E> {
                match value {
                    "base" => Ok(ModelSpec::Preset(Preset::Base)),
                    "large" => Ok(ModelSpec::Preset(Preset::Large)),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<ModelSpec, M::Error> {
                CustomDims::deserialize(MapAccessDeserializer::new(map)).map(ModelSpec::Custom)
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

/// The head a model is trained with, which must match the tokenized layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// Four (image, "question option") sequences, one logit each.
    Choice,
    /// One sequence with all four options, four logits.
    Joint,
}

impl Head {
    pub fn task(self) -> HeadTask {
        match self {
            Head::Choice => HeadTask::Choice,
            Head::Joint => HeadTask::Joint,
        }
    }

    /// Sequences per question in the tokenized input this head reads.
    pub fn sequences(self) -> usize {
        match self {
            Head::Choice => 4,
            Head::Joint => 1,
        }
    }

    /// The head that reads inputs with `sequences` sequences per question.
    pub fn for_sequences(sequences: usize) -> Option<Head> {
        match sequences {
            4 => Some(Head::Choice),
            1 => Some(Head::Joint),
            _ => None,
        }
    }
}

/// The full model configuration, checked; `param` names the parameter blamed on error.
pub fn vqa_config(
    spec: &ModelSpec,
    image_size: usize,
    head: Head,
    drop_path: f64,
) -> Result<VqaConfig, ParamError> {
    let encoder = match spec {
        ModelSpec::Preset(preset) => preset.config(image_size),
        ModelSpec::Custom(dims) => Beit3Config {
            embed_dim: dims.embed_dim,
            depth: dims.depth,
            num_heads: dims.num_heads,
            ffn_dim: dims.ffn_dim,
            patch_size: dims.patch_size,
            vocab_size: dims.vocab_size,
            max_text_positions: dims.max_text_positions,
            ..Beit3Config::base(image_size)
        },
    }
    .with_drop_path_rate(drop_path);
    let config = VqaConfig {
        encoder,
        task: head.task(),
    };
    config
        .validate()
        .map_err(|e| ParamError::new("model", e.to_string()))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ModelSpec, toml::de::Error> {
        #[derive(Deserialize)]
        struct Wrapper {
            model: ModelSpec,
        }
        toml::from_str::<Wrapper>(text).map(|w| w.model)
    }

    #[test]
    fn reads_presets_and_custom_tables() {
        assert_eq!(
            parse("model = \"large\"").unwrap(),
            ModelSpec::Preset(Preset::Large)
        );
        let custom =
            parse("model = { embed_dim = 32, depth = 2, num_heads = 4, ffn_dim = 64 }").unwrap();
        let ModelSpec::Custom(dims) = custom else {
            panic!("not custom")
        };
        assert_eq!(
            (dims.embed_dim, dims.patch_size, dims.vocab_size),
            (32, 16, 64010)
        );
    }

    #[test]
    fn names_what_is_wrong() {
        let err = parse("model = \"huge\"").unwrap_err().to_string();
        assert!(
            err.contains("huge") && err.contains("\"base\", \"large\""),
            "{err}"
        );
        let err = parse("model = { embed_dim = 32, depht = 2 }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("depht"), "{err}");
    }

    #[test]
    fn checks_sizes_fit() {
        let spec =
            parse("model = { embed_dim = 30, depth = 2, num_heads = 4, ffn_dim = 64 }").unwrap();
        let err = vqa_config(&spec, 32, Head::Joint, 0.0).unwrap_err();
        assert!(err.to_string().contains("num_heads"), "{err}");
        let large = vqa_config(&ModelSpec::Preset(Preset::Large), 480, Head::Choice, 0.15).unwrap();
        assert_eq!(
            (large.encoder.embed_dim, large.task.num_classes()),
            (1024, 1)
        );
    }
}
