//! `predict`: scores a tokenized split with a trained model and writes the prediction folder
//! (`predictions.parquet` with the probability of each option, `submission.csv`, `meta.json`; see
//! `pipeline-stages-ml`).
//!
//! Inputs: `model` (a `train` output, or a fine-tuned checkpoint in the official PyTorch layout,
//! `.pth` or safetensors, whose sizes `architecture` states), `data` (a `tokenize` output) and
//! `images` (an `images` output at the model's size).

use std::path::Path;

use beit3::{LoadOptions, VqaConfig, VqaModel, load_checkpoint};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use pipeline_api::{ParamError, Stage, StageContext, StageError};
use pipeline_formats::PackedImages;
use pipeline_formats::predictions::{
    META_FILE, PREDICTIONS_FILE, Predictions, SUBMISSION_FILE, write_folder,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::architecture::{Head, ModelSpec, vqa_config};
use crate::batches::{BatchMaker, ImageMode};
use crate::device::{Compute, DeviceSpec, OnBackend, Precision, dispatch};
use crate::saved_model::{self, ModelInfo, param_total};
use crate::score::score;
use crate::tokenized_split::{self, TokenizedSplit};
use crate::train::is_one;

pub struct Predict;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictParams {
    /// The split to score (`<split>.parquet` of the `data` input). Unset: the input's only split
    /// (a tokenized `mc_table` output holds one), or `test` among several; otherwise the error
    /// lists them.
    #[serde(default)]
    pub split: Option<String>,
    /// Questions per batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// `"cpu"`, `"cuda"` or `"cuda:N"`.
    #[serde(default = "default_device")]
    pub device: DeviceSpec,
    /// `"f32"` or `"bf16"` (on CUDA, or on the CPU's Flex backend).
    #[serde(default)]
    pub precision: Precision,
    /// Required when `model` is a checkpoint file rather than a `train` output:
    /// `{ model = "large", image_size = 480, head = "joint" }` (`head.3` has 4 outputs for
    /// `joint`, 1 for `choice`).
    #[serde(default)]
    pub architecture: Option<Architecture>,
    /// Pads each batch's text so that the whole sequence (1 CLS + image patches + text tokens) is
    /// a multiple of this: 1 = off, 64 for GPUs (see the `train` stage's `pad_to_multiple`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub pad_to_multiple: usize,
}

/// The sizes of a checkpoint trained elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// The checkpoint's size: `"base"`, `"large"` or a table of custom sizes (below).
    pub model: ModelSpec,
    /// The image size it was fine-tuned at (pixels; the `images` input must be packed at it).
    pub image_size: usize,
    /// `"joint"` (`head.3` has 4 outputs) or `"choice"` (1 output).
    pub head: Head,
}

fn default_batch() -> usize {
    24
}
fn one() -> usize {
    1
}
fn default_device() -> DeviceSpec {
    DeviceSpec::Cpu
}

impl Stage for Predict {
    const KIND: &'static str = "predict";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Scores a tokenized split with a trained BEiT-3 (a train output, or an official-layout \
        fine-tuned checkpoint with `architecture`): probabilities over A-D per question, submission.csv, \
        meta.json. Inputs: model, data, images.";
    type Params = PredictParams;

    fn validate(params: &PredictParams) -> Result<(), ParamError> {
        if params.batch_size == 0 {
            return Err(ParamError::new("batch_size", "must be at least 1"));
        }
        if params.pad_to_multiple == 0 {
            return Err(ParamError::new("pad_to_multiple", "must be at least 1"));
        }
        if let Some(a) = &params.architecture {
            vqa_config(&a.model, a.image_size, a.head, 0.0)?;
        }
        Ok(())
    }

    fn outputs(_params: &PredictParams) -> Vec<String> {
        [PREDICTIONS_FILE, SUBMISSION_FILE, META_FILE]
            .map(String::from)
            .to_vec()
    }

    fn run(&self, params: &PredictParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let model = ctx.input("model")?.to_path_buf();
        let source = ModelSource::resolve(&model, params)?;
        let (split_name, split_path) =
            tokenized_split::find_split(ctx.input("data")?, params.split.as_deref())?;
        let split = tokenized_split::read(&split_path)?;
        let images = PackedImages::open(ctx.input("images")?).map_err(StageError::other)?;
        let gpus = ctx.gpus.to_vec();
        let job = PredictJob {
            source,
            split,
            split_name,
            images,
            params: params.clone(),
            ctx,
        };
        let compute = Compute {
            device: params.device,
            precision: params.precision,
            recompute: false,
        };
        dispatch(compute, &gpus, job)?
    }
}

/// Where the weights come from.
enum ModelSource {
    /// A `train` output folder.
    Trained {
        dir: std::path::PathBuf,
        info: ModelInfo,
    },
    /// An official-layout checkpoint file.
    Checkpoint {
        file: std::path::PathBuf,
        config: VqaConfig,
        head: Head,
    },
}

impl ModelSource {
    fn resolve(path: &Path, params: &PredictParams) -> Result<Self, StageError> {
        if path.is_dir() {
            let info = saved_model::read_info(path)?;
            return Ok(ModelSource::Trained {
                dir: path.to_path_buf(),
                info,
            });
        }
        let Some(a) = &params.architecture else {
            return Err(StageError::failed(format!(
                "`{}` is a checkpoint file: state its sizes with \
                 `architecture = {{ model = \"large\", image_size = 480, head = \"joint\" }}`",
                path.display()
            )));
        };
        let config = vqa_config(&a.model, a.image_size, a.head, 0.0).map_err(StageError::other)?;
        Ok(ModelSource::Checkpoint {
            file: path.to_path_buf(),
            config,
            head: a.head,
        })
    }

    fn config(&self) -> (&VqaConfig, Head, bool) {
        match self {
            ModelSource::Trained { info, .. } => (&info.config, info.head, info.blank_images),
            ModelSource::Checkpoint { config, head, .. } => (config, *head, false),
        }
    }

    fn load<B: Backend>(&self, device: &B::Device) -> Result<VqaModel<B>, StageError> {
        match self {
            ModelSource::Trained { dir, .. } => Ok(saved_model::load(dir, device)?.0),
            ModelSource::Checkpoint { file, config, .. } => {
                let mut model = VqaModel::new(config, device).map_err(StageError::other)?;
                let options = LoadOptions::default();
                load_checkpoint(&mut model, file, &options).map_err(StageError::other)?;
                Ok(model)
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            ModelSource::Trained { dir, .. } => format!("trained model {}", dir.display()),
            ModelSource::Checkpoint { file, .. } => format!("checkpoint {}", file.display()),
        }
    }
}

struct PredictJob<'a, 'c> {
    source: ModelSource,
    split: TokenizedSplit,
    split_name: String,
    images: PackedImages,
    params: PredictParams,
    ctx: &'a mut StageContext<'c>,
}

impl OnBackend for PredictJob<'_, '_> {
    type Output = Result<(), StageError>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let (config, head, blank) = self.source.config();
        if self.split.sequences != head.sequences() {
            return Err(StageError::failed(format!(
                "`{}` has {} sequences per question but the model's head is {head:?} ({} expected): \
                 bind the tokenize output whose layout matches",
                self.split.path.display(),
                self.split.sequences,
                head.sequences()
            )));
        }
        let mut model = self.source.load::<B>(&device)?.valid();
        model.set_compute(self.params.precision.compute_dtype());
        let mode = if blank {
            ImageMode::Blank
        } else {
            ImageMode::Plain
        };
        let maker = BatchMaker::new(&self.split, &self.images, config.encoder.img_size, mode, 0)?
            .pad_to_multiple(self.params.pad_to_multiple, &config.encoder)?;
        self.ctx
            .progress
            .start(self.split.len() as u64, "questions");
        let scores = score(
            &model,
            &maker,
            self.split.len(),
            self.params.batch_size,
            &device,
            self.ctx.progress,
            self.ctx.cancel,
        )?;
        let predictions = Predictions::from_probs(self.split.ids.clone(), scores.probs);
        let meta = serde_json::json!({
            "params": param_total(config),
            "model": format!("{}: BEiT-3 {:?} head, {} px", self.ctx.stage, head, config.encoder.img_size),
            "source": self.source.describe(),
            "split": self.split_name,
            "device": self.params.device.to_string(),
            "accuracy": scores.tally.map(|t| t.accuracy()),
        });
        write_folder(self.ctx.out_dir, &predictions, &meta)?;
        if let Some(tally) = scores.tally {
            self.ctx.log_line(&format!(
                "{}: accuracy {:.2}% over {} questions",
                self.split_name,
                100.0 * tally.accuracy(),
                tally.samples
            ));
        }
        Ok(())
    }
}
