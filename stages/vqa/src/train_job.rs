//! What a training run needs that does not depend on the backend: the tokenized splits and packed
//! images read and checked against the parameters (head layout, vocabulary, sequence length), the
//! batch makers and the learning-rate schedule. [`crate::training_session`] runs it.

use std::path::PathBuf;

use beit3::VqaConfig;
use pipeline_api::{StageContext, StageError};
use pipeline_formats::PackedImages;

use crate::architecture::{Head, vqa_config};
use crate::batches::{BatchMaker, ImageMode};
use crate::schedule::WarmupCosine;
use crate::tokenized_split::{self, TokenizedSplit};
use crate::train::TrainParams;
use crate::training_session::BoundTrain;

/// Everything training needs that does not depend on the backend.
pub struct TrainJob {
    pub(crate) params: TrainParams,
    pub(crate) config: VqaConfig,
    pub(crate) train: TokenizedSplit,
    pub(crate) val: Option<TokenizedSplit>,
    pub(crate) images: PackedImages,
    /// The `checkpoint` input: weights to start from.
    pub(crate) checkpoint: Option<PathBuf>,
}

impl TrainJob {
    /// Reads the inputs and checks they fit the parameters.
    pub fn prepare(params: &TrainParams, ctx: &StageContext<'_>) -> Result<Self, StageError> {
        let config = vqa_config(
            &params.model,
            params.image_size,
            params.head,
            params.drop_path,
        )
        .map_err(StageError::other)?;
        let data = ctx.input("data")?;
        let train = tokenized_split::read(&tokenized_split::split_file(data, &params.train_split))?;
        let val = match params.val_split.as_str() {
            "" => None,
            split => Some(tokenized_split::read(&tokenized_split::split_file(
                data, split,
            ))?),
        };
        for split in std::iter::once(&train).chain(&val) {
            check_fits(split, params.head, &config)?;
            split.require_labels()?;
        }
        let images_dir = ctx.input("images")?;
        let images = PackedImages::open(images_dir).map_err(StageError::other)?;
        let checkpoint = match ctx.inputs.get("checkpoint") {
            Some(_) => Some(ctx.input("checkpoint")?.to_path_buf()),
            None => None,
        };
        Ok(Self {
            params: params.clone(),
            config,
            train,
            val,
            images,
            checkpoint,
        })
    }

    /// The job with the stage context it reports to, ready to run on a backend.
    pub fn bind<'a, 'c>(self, ctx: &'a mut StageContext<'c>) -> BoundTrain<'a, 'c> {
        BoundTrain { job: self, ctx }
    }

    /// The batch makers of the training and validation splits, made once per run.
    pub(crate) fn makers(&self) -> Result<Makers<'_>, StageError> {
        let p = &self.params;
        let maker = |split, training| {
            BatchMaker::new(
                split,
                &self.images,
                p.image_size,
                self.image_mode(training),
                p.seed,
            )?
            .pad_to_multiple(p.pad_to_multiple, &self.config.encoder)
        };
        Ok(Makers {
            train: maker(&self.train, true)?,
            val: self.val.as_ref().map(|val| maker(val, false)).transpose()?,
        })
    }

    fn image_mode(&self, training: bool) -> ImageMode {
        match (
            self.params.blank_images,
            training.then(|| self.params.augment.config()).flatten(),
        ) {
            (true, _) => ImageMode::Blank,
            (false, Some(config)) => ImageMode::Augmented(config),
            (false, None) => ImageMode::Plain,
        }
    }

    /// Questions per validation batch: `eval_batch_size`, or 1.5 times the training batch.
    pub(crate) fn eval_batch(&self) -> usize {
        self.params
            .eval_batch_size
            .unwrap_or((self.params.batch_size * 3).div_ceil(2))
    }

    /// The learning rate by optimizer step.
    pub(crate) fn schedule(&self) -> WarmupCosine {
        let per_epoch = self
            .train
            .len()
            .div_ceil(self.params.batch_size)
            .div_ceil(self.params.accumulate);
        WarmupCosine {
            peak: self.params.lr,
            floor: self.params.min_lr,
            warmup_steps: (self.params.warmup_epochs * per_epoch as f64).round() as usize,
            total_steps: per_epoch * self.params.epochs,
        }
    }

    /// What a checkpoint must have been made with to be resumed: the parameters.
    pub(crate) fn fingerprint(&self) -> String {
        serde_json::to_string(&self.params).unwrap_or_default()
    }
}

/// The head must match the token layout, and every token id must have an embedding row.
fn check_fits(split: &TokenizedSplit, head: Head, config: &VqaConfig) -> Result<(), StageError> {
    if split.sequences != head.sequences() {
        let layout = Head::for_sequences(split.sequences).map_or("an unknown", |h| match h {
            Head::Choice => "the `choice`",
            Head::Joint => "the `joint`",
        });
        return Err(StageError::failed(format!(
            "`{}` holds {} sequences per question ({layout} layout) but head = {:?}: \
             bind the tokenize output whose layout matches the head",
            split.path.display(),
            split.sequences,
            head
        )));
    }
    let largest = split.tokens.iter().copied().max().unwrap_or(0);
    if largest as usize >= config.encoder.vocab_size {
        return Err(StageError::failed(format!(
            "`{}` holds token id {largest} but the model has {} embedding rows: \
             set the model's vocab_size above the tokenizer's vocabulary",
            split.path.display(),
            config.encoder.vocab_size
        )));
    }
    if split.max_len > config.encoder.max_text_len() {
        return Err(StageError::failed(format!(
            "`{}` has sequences of {} tokens; the model takes at most {}",
            split.path.display(),
            split.max_len,
            config.encoder.max_text_len()
        )));
    }
    Ok(())
}

/// Batch makers of a run's splits.
pub(crate) struct Makers<'a> {
    pub(crate) train: BatchMaker<'a>,
    pub(crate) val: Option<BatchMaker<'a>>,
}
