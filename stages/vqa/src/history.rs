//! What training measured: a row per optimizer step and a row per epoch, kept in the checkpoint
//! (so a resumed run continues the same history) and written as CSV, JSON and a PNG plot.

use std::fmt::Write as _;
use std::path::Path;

use pipeline_api::{Progress, StageError};
use pipeline_formats::json::write_json;
use serde::{Deserialize, Serialize};

/// One optimizer step (after gradient accumulation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based, counted over the whole run.
    pub step: usize,
    pub epoch: usize,
    pub lr: f64,
    /// Mean training loss of the step's samples.
    pub loss: f64,
    /// Share of the step's samples answered correctly.
    pub accuracy: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Questions per second, averaged over the steps read from the device together (every
    /// `log_every` steps and at the end of the epoch).
    pub samples_per_s: f64,
}

/// One epoch: the running training figures and the validation figures at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub seconds: f64,
    pub samples_per_s: f64,
}

impl EpochRecord {
    /// The line logged at the end of the epoch, out of `epochs`.
    pub fn line(&self, epochs: usize) -> String {
        let val = match (self.val_loss, self.val_accuracy) {
            (Some(loss), Some(acc)) => format!(", val loss {loss:.4} acc {:.2}%", 100.0 * acc),
            _ => String::new(),
        };
        format!(
            "epoch {}/{epochs}: train loss {:.4} acc {:.2}%{val}, {:.1} s, {:.1} questions/s",
            self.epoch,
            self.train_loss,
            100.0 * self.train_accuracy,
            self.seconds,
            self.samples_per_s
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub steps: Vec<StepRecord>,
    pub epochs: Vec<EpochRecord>,
}

pub const STEPS_CSV: &str = "steps.csv";
pub const EPOCHS_CSV: &str = "epochs.csv";
pub const METRICS_JSON: &str = "metrics.json";

impl StepRecord {
    /// Reports the step's loss and accuracy as metrics (what `pipeline ui` charts).
    pub fn report(&self, progress: &dyn Progress) {
        progress.metric("loss/train", self.step as u64, self.loss);
        progress.metric("accuracy/train", self.step as u64, self.accuracy);
    }
}

impl EpochRecord {
    /// Reports the epoch's validation loss and accuracy, if it was validated, as metrics at
    /// `step`, the optimizer steps taken by its end.
    pub fn report(&self, step: u64, progress: &dyn Progress) {
        if let (Some(loss), Some(accuracy)) = (self.val_loss, self.val_accuracy) {
            progress.metric("loss/validation", step, loss);
            progress.metric("accuracy/validation", step, accuracy);
        }
    }
}

impl History {
    /// Reports every step and epoch so far as metrics: a resumed run starts its metrics with the
    /// training it continues, as its curves do.
    pub fn report(&self, progress: &dyn Progress) {
        for step in &self.steps {
            step.report(progress);
        }
        for epoch in &self.epochs {
            let last_step = self
                .steps
                .iter()
                .filter(|s| s.epoch == epoch.epoch)
                .map(|s| s.step)
                .max()
                .unwrap_or(0);
            epoch.report(last_step as u64, progress);
        }
    }

    /// The epoch with the best validation accuracy (the last on ties), if any was validated.
    pub fn best_epoch(&self) -> Option<&EpochRecord> {
        self.epochs
            .iter()
            .filter(|e| e.val_accuracy.is_some())
            .max_by(|a, b| {
                a.val_accuracy
                    .partial_cmp(&b.val_accuracy)
                    .expect("finite accuracy")
            })
    }

    /// Writes `steps.csv`, `epochs.csv` and `metrics.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), StageError> {
        let mut steps = String::from("step,epoch,lr,loss,accuracy,grad_norm,samples_per_s\n");
        for s in &self.steps {
            let _ = writeln!(
                steps,
                "{},{},{:e},{:.6},{:.6},{:.6},{:.2}",
                s.step, s.epoch, s.lr, s.loss, s.accuracy, s.grad_norm, s.samples_per_s
            );
        }
        let mut epochs = String::from(
            "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,samples_per_s\n",
        );
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
        for e in &self.epochs {
            let _ = writeln!(
                epochs,
                "{},{:.6},{:.6},{},{},{:.2},{:.2}",
                e.epoch,
                e.train_loss,
                e.train_accuracy,
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.seconds,
                e.samples_per_s
            );
        }
        write_text(&dir.join(STEPS_CSV), &steps)?;
        write_text(&dir.join(EPOCHS_CSV), &epochs)?;
        write_json(&dir.join(METRICS_JSON), self)
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), StageError> {
    std::fs::write(path, text)
        .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))
}

/// Running sums over an epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub loss_sum: f64,
    pub correct: u64,
    pub samples: u64,
}

impl Tally {
    pub fn add(&mut self, mean_loss: f64, correct: u64, samples: u64) {
        self.loss_sum += mean_loss * samples as f64;
        self.correct += correct;
        self.samples += samples;
    }

    pub fn loss(&self) -> f64 {
        self.loss_sum / self.samples.max(1) as f64
    }

    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.samples.max(1) as f64
    }
}
