//! `train`: fine-tunes BEiT-3 on a tokenized multiple-choice split (from an official checkpoint,
//! or from scratch for small models), validates each epoch, checkpoints each epoch (a killed run
//! resumes), and writes the final model with its training curves.
//!
//! Inputs: `data` (a `tokenize` output holding `<train_split>.parquet` and `<val_split>.parquet`),
//! `images` (an `images` output packed at `image_size`), optionally `checkpoint` (an official
//! `.pth` or safetensors file; pretrained 224-px files are interpolated to `image_size`).

use crate::augment::AugmentConfig;
use pipeline_api::{ParamError, Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::architecture::{Head, ModelSpec, vqa_config};
use crate::curves::CURVES_PNG;
use crate::device::{Compute, DeviceSpec, Precision, dispatch};
use crate::history::{EPOCHS_CSV, METRICS_JSON, STEPS_CSV};
use crate::saved_model::{MODEL_FILE, MODEL_INFO};
use crate::train_job::TrainJob;

pub struct Train;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// `"base"`, `"large"`, or custom sizes `{ embed_dim, depth, num_heads, ffn_dim, patch_size, vocab_size, max_text_positions }`.
    pub model: ModelSpec,
    /// Square input size in pixels (the `images` input must be packed at this size).
    pub image_size: usize,
    /// `choice` (reads the `choice` token layout) or `joint` (the `joint` layout).
    pub head: Head,
    /// Passes over the training split.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Questions per optimizer step (per micro-batch when `accumulate` > 1).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Micro-batches whose gradients are summed before each optimizer step.
    #[serde(default = "one")]
    pub accumulate: usize,
    /// Peak learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Floor of the cosine schedule.
    #[serde(default = "default_min_lr")]
    pub min_lr: f64,
    /// Linear warm-up from 0, in epochs (fractions allowed).
    #[serde(default = "default_warmup")]
    pub warmup_epochs: f64,
    /// Layer-wise learning-rate decay (1.0 = none, as in the VQA recipe).
    #[serde(default = "default_layer_decay")]
    pub layer_decay: f64,
    /// Learning-rate multiplier of the task head (`head.*`; not the pooler).
    #[serde(default = "default_head_lr")]
    pub head_lr_scale: f64,
    /// Decoupled weight decay (not applied to biases, norms, the CLS token and the vision positions).
    #[serde(default = "default_weight_decay")]
    pub weight_decay: f64,
    /// AdamW (beta1, beta2).
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// AdamW epsilon.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Drop-path rate of the last layer (linear from 0 at the first).
    #[serde(default)]
    pub drop_path: f64,
    /// Clip the global gradient norm to this value (unset: no clipping, as in the recipe).
    #[serde(default)]
    pub clip_grad: Option<f64>,
    /// Seed of the initialisation, shuffling, augmentation and drop path.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// `"f32"` or `"bf16"` (on CUDA, or on the CPU's Flex backend).
    #[serde(default)]
    pub precision: Precision,
    /// `"cpu"`, `"cuda"` or `"cuda:N"`.
    #[serde(default = "default_device")]
    pub device: DeviceSpec,
    /// Recompute cheap activations (norms, activations, element-wise ops) in the backward pass
    /// instead of keeping them: less memory, more time. For large models at 480 px on one GPU.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recompute_activations: bool,
    /// The fused attention on `cuda` and `wgpu` (FlashAttention-2 style: the backward pass
    /// recomputes the attention scores instead of keeping them, so memory grows with the tokens,
    /// not their square). `false`: Burn's decomposed attention, to compare. The CPU devices always
    /// use the decomposed one.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub fused_attention: bool,
    /// Training augmentation: `true` (random resized crop, flip, RandAugment), `false`, or a
    /// table `{ crop, flip, randaug }`. Flipping swaps left and right: turn it off when questions ask.
    #[serde(default = "default_augment")]
    pub augment: AugmentSwitch,
    /// Text-only control: every image is replaced by mid-grey (in training and prediction).
    #[serde(default)]
    pub blank_images: bool,
    /// The split trained on (`<split>.parquet` of the `data` input).
    #[serde(default = "default_train_split")]
    pub train_split: String,
    /// Validated at the end of each epoch; `""` skips validation.
    #[serde(default = "default_val_split")]
    pub val_split: String,
    /// Questions per validation batch (unset: 1.5 x batch_size, as the reference).
    #[serde(default)]
    pub eval_batch_size: Option<usize>,
    /// Which epoch's weights become the output model: `last` or `best` (validation accuracy).
    #[serde(default)]
    pub keep: Keep,
    /// Optimizer steps between reads of the training figures from the device (loss, accuracy and
    /// gradient norm of each step, the non-finite-loss check); they are also read at the end of
    /// each epoch. Each read waits for the device: on a GPU, fewer reads keep its queue full.
    #[serde(
        default = "default_log_every",
        skip_serializing_if = "is_default_log_every"
    )]
    pub log_every: usize,
    /// Pads each batch's text (padding tokens, masked out of attention) so that the whole sequence,
    /// 1 CLS + image patches + text tokens, is a multiple of this. 1 = off (text cut to the longest
    /// question of the batch). 64 for GPUs: at 480 px, 901 image + 64 text = 965 tokens is an
    /// awkward shape for every kernel, 1024 is not. The results are the same up to the order of
    /// float sums; the padded text must fit the model's text positions.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub pad_to_multiple: usize,
}

/// `augment = true | false | { crop, flip, randaug }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AugmentSwitch {
    On(bool),
    Custom(AugmentConfig),
}

impl AugmentSwitch {
    pub fn config(self) -> Option<AugmentConfig> {
        match self {
            AugmentSwitch::On(true) => Some(AugmentConfig::default()),
            AugmentSwitch::On(false) => None,
            AugmentSwitch::Custom(config) => Some(config),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    #[default]
    Last,
    Best,
}

fn default_epochs() -> usize {
    5
}
fn default_batch() -> usize {
    16
}
fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn is_yes(value: &bool) -> bool {
    *value
}
pub(crate) fn is_one(value: &usize) -> bool {
    *value == 1
}
fn default_log_every() -> usize {
    10
}
fn is_default_log_every(value: &usize) -> bool {
    *value == default_log_every()
}
fn default_lr() -> f64 {
    2e-5
}
fn default_min_lr() -> f64 {
    1e-6
}
fn default_warmup() -> f64 {
    1.0
}
fn default_layer_decay() -> f64 {
    1.0
}
fn default_head_lr() -> f64 {
    20.0
}
fn default_weight_decay() -> f64 {
    0.01
}
fn default_betas() -> [f64; 2] {
    [0.9, 0.98]
}
fn default_eps() -> f64 {
    1e-8
}
fn default_seed() -> u64 {
    42
}
fn default_device() -> DeviceSpec {
    DeviceSpec::Cpu
}
fn default_augment() -> AugmentSwitch {
    AugmentSwitch::On(true)
}
fn default_train_split() -> String {
    "train".into()
}
fn default_val_split() -> String {
    "val".into()
}

impl TrainParams {
    fn check(&self) -> Result<(), ParamError> {
        vqa_config(&self.model, self.image_size, self.head, self.drop_path)?;
        let positive = [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("accumulate", self.accumulate),
            ("log_every", self.log_every),
            ("pad_to_multiple", self.pad_to_multiple),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ParamError::new(*name, "must be at least 1"));
        }
        let ordered = self.lr > 0.0 && self.lr < 1.0 && (0.0..=self.lr).contains(&self.min_lr);
        if !ordered {
            return Err(ParamError::new("lr", "needs 0 < min_lr <= lr < 1"));
        }
        if !(0.0..=self.epochs as f64).contains(&self.warmup_epochs) {
            return Err(ParamError::new(
                "warmup_epochs",
                "must be between 0 and `epochs`",
            ));
        }
        if self.betas.iter().any(|b| !(0.0..1.0).contains(b)) {
            return Err(ParamError::new("betas", "each beta must be in [0, 1)"));
        }
        if !(self.layer_decay > 0.0 && self.layer_decay <= 1.0) {
            return Err(ParamError::new("layer_decay", "must be in (0, 1]"));
        }
        if self.clip_grad.is_some_and(|c| c <= 0.0) {
            return Err(ParamError::new(
                "clip_grad",
                "must be positive (or unset for no clipping)",
            ));
        }
        if self.train_split.is_empty() {
            return Err(ParamError::new("train_split", "must name a split"));
        }
        Ok(())
    }
}

impl Stage for Train {
    const KIND: &'static str = "train";
    const VERSION: &'static str = "2";
    const DOC: &'static str = "Fine-tunes BEiT-3 (choice or joint head) on a tokenized split with AdamW, \
        warm-up + cosine, layer decay and a 20x head learning rate; validates and checkpoints each \
        epoch (a killed run resumes); writes model.bpk, model.json, curves and metrics. Inputs: data, \
        images, optional checkpoint.";
    type Params = TrainParams;

    fn validate(params: &TrainParams) -> Result<(), ParamError> {
        params.check()
    }

    fn outputs(_params: &TrainParams) -> Vec<String> {
        [
            MODEL_FILE,
            MODEL_INFO,
            STEPS_CSV,
            EPOCHS_CSV,
            METRICS_JSON,
            CURVES_PNG,
        ]
        .map(String::from)
        .to_vec()
    }

    fn resumable(_params: &TrainParams) -> bool {
        true
    }

    fn run(&self, params: &TrainParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let job = TrainJob::prepare(params, ctx)?;
        let compute = Compute {
            device: params.device,
            precision: params.precision,
            recompute: params.recompute_activations,
        };
        let gpus = ctx.gpus.to_vec();
        dispatch(compute, &gpus, job.bind(ctx))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fused_attention_is_on_unless_turned_off_and_only_off_enters_the_key() {
        let base = "model = \"base\"\nimage_size = 480\nhead = \"choice\"\n";
        let on: TrainParams = toml::from_str(base).unwrap();
        assert!(on.fused_attention);
        // Keys of existing manifests stay as they were.
        let json = serde_json::to_value(&on).unwrap();
        assert!(json.get("fused_attention").is_none(), "{json}");
        let off: TrainParams = toml::from_str(&format!("{base}fused_attention = false\n")).unwrap();
        assert!(!off.fused_attention);
        assert_eq!(
            serde_json::to_value(&off).unwrap()["fused_attention"],
            false
        );
    }
}
