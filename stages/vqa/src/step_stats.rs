//! The figures of each optimizer step (mean loss, answers correct, gradient norm), kept on the
//! device as the steps make them and read back together every `log_every` steps, at the end of an
//! epoch and before a checkpoint. Every read from the device waits for the device to finish what
//! was queued: on a GPU, reading after each micro-batch would stall the queue at every step.

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::FloatDType;
use pipeline_api::StageError;

use crate::history::{StepRecord, Tally};

/// What is known of a step on the host when it closes.
#[derive(Debug, Clone, Copy)]
pub struct StepMeta {
    /// 1-based, counted over the whole run.
    pub step: usize,
    /// 1-based.
    pub epoch: usize,
    pub lr: f64,
}

struct PendingStep<B: Backend> {
    meta: StepMeta,
    /// Micro-batches summed into the step.
    micro_batches: usize,
    /// `[1]`; `None` when the step had no gradients.
    grad_norm: Option<Tensor<B, 1>>,
}

/// The steps not read yet, on backend `B` (the inner backend: no autodiff graph is kept).
pub struct StepStats<B: Backend> {
    /// Mean loss of each micro-batch, `[1]` each.
    losses: Vec<Tensor<B, 1>>,
    /// Answers correct in each micro-batch, `[1]` each.
    correct: Vec<Tensor<B, 1>>,
    /// Questions in each micro-batch.
    rows: Vec<u64>,
    steps: Vec<PendingStep<B>>,
    /// Micro-batches of the closed steps.
    closed: usize,
    /// When the steps not read yet began (the last read, or the start of the epoch).
    since: Instant,
}

impl<B: Backend> Default for StepStats<B> {
    fn default() -> Self {
        Self {
            losses: Vec::new(),
            correct: Vec::new(),
            rows: Vec::new(),
            steps: Vec::new(),
            closed: 0,
            since: Instant::now(),
        }
    }
}

impl<B: Backend> StepStats<B> {
    /// Keeps a micro-batch's mean loss and number of answers correct (`[1]` each) on the device.
    pub fn add_micro_batch(&mut self, loss: Tensor<B, 1>, correct: Tensor<B, 1, Int>, rows: u64) {
        self.losses.push(loss.cast(FloatDType::F32));
        self.correct.push(correct.float().cast(FloatDType::F32));
        self.rows.push(rows);
    }

    /// Closes a step over the micro-batches added since the last one closed.
    pub fn close_step(&mut self, meta: StepMeta, grad_norm: Option<Tensor<B, 1>>) {
        let micro_batches = self.rows.len() - self.closed;
        self.closed = self.rows.len();
        let grad_norm = grad_norm.map(|n| n.cast(FloatDType::F32));
        self.steps.push(PendingStep {
            meta,
            micro_batches,
            grad_norm,
        });
    }

    /// Closed steps not read yet.
    pub fn pending_steps(&self) -> usize {
        self.steps.len()
    }

    /// Reads every closed step from the device at once (one copy), adds its micro-batches to
    /// `epoch` in order, and returns the steps' records. Fails, naming the step, if a loss is not
    /// finite. The speed recorded is the mean over the steps read: a step's own time is not known
    /// without waiting for the device after each step.
    pub fn read(&mut self, epoch: &mut Tally) -> Result<Vec<StepRecord>, StageError> {
        assert_eq!(
            self.closed,
            self.rows.len(),
            "read only after a step closed"
        );
        if self.steps.is_empty() {
            return Ok(Vec::new());
        }
        let values = self.values()?;
        let seconds = self.since.elapsed().as_secs_f64();
        self.since = Instant::now();
        let micro = self.rows.len();
        let samples: u64 = self.rows.iter().sum();
        let read = Read {
            losses: &values[..micro],
            correct: &values[micro..2 * micro],
            rows: &self.rows,
            samples_per_s: samples as f64 / seconds.max(1e-9),
        };
        let mut norms = values[2 * micro..].iter();
        let mut first = 0;
        let mut records = Vec::with_capacity(self.steps.len());
        for pending in self.steps.drain(..) {
            let micro_batches = first..first + pending.micro_batches;
            first = micro_batches.end;
            let norm = pending
                .grad_norm
                .map(|_| *norms.next().expect("a norm per step"));
            records.push(read.step(&pending.meta, micro_batches, norm, epoch)?);
        }
        self.rows.clear();
        self.closed = 0;
        Ok(records)
    }

    /// The losses, the counts and the norms of the pending steps, in that order, in one copy.
    fn values(&mut self) -> Result<Vec<f32>, StageError> {
        let norms = self.steps.iter().filter_map(|s| s.grad_norm.clone());
        let all: Vec<Tensor<B, 1>> = self
            .losses
            .drain(..)
            .chain(self.correct.drain(..))
            .chain(norms)
            .collect();
        Tensor::cat(all, 0)
            .into_data()
            .to_vec::<f32>()
            .map_err(|e| StageError::failed(format!("reading the step statistics: {e:?}")))
    }
}

/// The figures of the steps read together, as read.
struct Read<'a> {
    losses: &'a [f32],
    correct: &'a [f32],
    rows: &'a [u64],
    samples_per_s: f64,
}

impl Read<'_> {
    /// The record of the step made of `micro_batches`, whose figures are also added to `epoch`.
    fn step(
        &self,
        meta: &StepMeta,
        micro_batches: std::ops::Range<usize>,
        grad_norm: Option<f32>,
        epoch: &mut Tally,
    ) -> Result<StepRecord, StageError> {
        let mut step = Tally::default();
        for i in micro_batches {
            let loss = self.losses[i] as f64;
            if !loss.is_finite() {
                return Err(StageError::failed(format!(
                    "the training loss became {loss} at step {}: lower `lr` or set `clip_grad`",
                    meta.step
                )));
            }
            epoch.add(loss, self.correct[i] as u64, self.rows[i]);
            step.add(loss, self.correct[i] as u64, self.rows[i]);
        }
        Ok(StepRecord {
            step: meta.step,
            epoch: meta.epoch,
            lr: meta.lr,
            loss: step.loss(),
            accuracy: step.accuracy(),
            grad_norm: grad_norm.map_or(0.0, f64::from),
            samples_per_s: self.samples_per_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use burn_ndarray::NdArray;

    use super::*;

    type B = NdArray;

    fn add(stats: &mut StepStats<B>, loss: f32, correct: i64, rows: u64) {
        let device = Default::default();
        stats.add_micro_batch(
            Tensor::from_floats([loss], &device),
            Tensor::from_ints([correct], &device),
            rows,
        );
    }

    fn meta(step: usize) -> StepMeta {
        StepMeta {
            step,
            epoch: 1,
            lr: step as f64,
        }
    }

    #[test]
    fn steps_are_read_together_as_they_were_made() {
        let mut stats = StepStats::<B>::default();
        add(&mut stats, 1.5, 3, 4);
        add(&mut stats, 0.5, 1, 2);
        let norm = Tensor::from_floats([2.25], &Default::default());
        stats.close_step(meta(7), Some(norm));
        add(&mut stats, 0.25, 2, 2);
        stats.close_step(meta(8), None);
        assert_eq!(stats.pending_steps(), 2);
        let mut epoch = Tally::default();
        let records = stats.read(&mut epoch).unwrap();
        assert_eq!(stats.pending_steps(), 0);
        assert_eq!(records.len(), 2);
        let (a, b) = (&records[0], &records[1]);
        assert_eq!((a.step, a.lr, a.grad_norm), (7, 7.0, 2.25));
        assert_eq!(
            (a.loss, a.accuracy),
            ((1.5 * 4.0 + 0.5 * 2.0) / 6.0, 4.0 / 6.0)
        );
        assert_eq!(
            (b.step, b.loss, b.accuracy, b.grad_norm),
            (8, 0.25, 1.0, 0.0)
        );
        assert_eq!((epoch.samples, epoch.correct), (8, 6));
        assert_eq!(epoch.loss_sum, 1.5 * 4.0 + 0.5 * 2.0 + 0.25 * 2.0);
        assert!(stats.read(&mut epoch).unwrap().is_empty());
    }

    #[test]
    fn a_non_finite_loss_names_its_step() {
        let mut stats = StepStats::<B>::default();
        add(&mut stats, 1.0, 0, 1);
        stats.close_step(meta(3), None);
        add(&mut stats, 1.0, 0, 1);
        add(&mut stats, f32::NAN, 0, 1);
        stats.close_step(meta(4), None);
        let error = stats.read(&mut Tally::default()).unwrap_err().to_string();
        assert!(error.contains("became NaN at step 4"), "{error}");
    }
}
