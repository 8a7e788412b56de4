//! Scoring a split with a model in inference mode: probabilities over the four options of every
//! question and, when the split is labelled, the loss and the number answered correctly.

use beit3::VqaModel;
use burn::prelude::*;
use pipeline_api::{CancelToken, Progress, StageError};

use crate::batches::{BatchMaker, batch_rows, for_each_batch};
use crate::forward::{DeviceBatch, loss_and_correct, option_logits, probabilities};
use crate::history::Tally;

/// What scoring a split gives.
pub struct Scores {
    /// One row per question, in split order.
    pub probs: Vec<[f32; 4]>,
    /// Loss and accuracy, when the split is labelled.
    pub tally: Option<Tally>,
}

/// Scores all `n` rows of `maker`'s split in batches of `batch_size`, advancing `progress` by
/// one per question.
pub fn score<B: Backend>(
    model: &VqaModel<B>,
    maker: &BatchMaker<'_>,
    n: usize,
    batch_size: usize,
    device: &B::Device,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Scores, StageError> {
    let mut probs = Vec::with_capacity(n);
    let mut tally: Option<Tally> = None;
    let batches = batch_rows(n, batch_size, None);
    for_each_batch(maker, &batches, 0, |host| {
        cancel.check()?;
        let rows = host.rows.len();
        let batch = DeviceBatch::<B>::new(host, device);
        let logits = option_logits(model, &batch);
        if let Some(labels) = batch.labels.clone() {
            let (loss, correct) = loss_and_correct(logits.clone(), labels);
            let loss = loss.into_scalar().elem::<f64>();
            let correct = correct.into_scalar().elem::<i64>() as u64;
            tally
                .get_or_insert_default()
                .add(loss, correct, rows as u64);
        }
        let values = probabilities(logits).into_data().convert::<f32>();
        let values = values
            .as_slice::<f32>()
            .map_err(|e| StageError::failed(format!("reading probabilities: {e:?}")))?;
        probs.extend(
            values
                .chunks_exact(4)
                .map(|row| [row[0], row[1], row[2], row[3]]),
        );
        progress.advance(rows as u64);
        Ok(())
    })?;
    Ok(Scores { probs, tally })
}
