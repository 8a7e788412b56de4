//! The training loop behind the `train` stage, on one backend: per epoch, shuffled batches (made
//! ahead on a worker thread), forward, cross-entropy over the four options, backward, gradient
//! accumulation, global-norm clipping, the scheduled grouped AdamW step; validation; a checkpoint.
//! Resumes from the last checkpoint of an interrupted run.

use std::time::Instant;

use beit3::{LoadOptions, VqaModel, load_checkpoint, one_graph_at_a_time};
use burn::module::AutodiffModule;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::backend::AutodiffBackend;
use pipeline_api::{StageContext, StageError};

use crate::batches::{HostBatch, batch_rows, for_each_batch};
use crate::checkpoint::{self, TrainState};
use crate::curves::{CURVES_PNG, write_curves};
use crate::device::OnBackend;
use crate::forward::{DeviceBatch, loss_and_correct, option_logits};
use crate::history::{EpochRecord, Tally};
use crate::optim::{AdamWSettings, GroupRule, GroupedAdamW, clip_global_norm};
use crate::saved_model::{self, MODEL_FILE, ModelInfo};
use crate::schedule::WarmupCosine;
use crate::score::score;
use crate::seeded::{seeded_model, with_rng_lock};
use crate::step_stats::{StepMeta, StepStats};
use crate::train::Keep;
use crate::train_job::{Makers, TrainJob};

/// Folder holding the best model so far when `keep = "best"`.
const BEST_DIR: &str = "best";

/// A [`TrainJob`] and the stage context it reports to.
pub struct BoundTrain<'a, 'c> {
    pub(crate) job: TrainJob,
    pub(crate) ctx: &'a mut StageContext<'c>,
}

impl OnBackend for BoundTrain<'_, '_> {
    type Output = Result<(), StageError>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let makers = self.job.makers()?;
        let mut session = Session::<B>::start(&self.job, self.ctx, device)?;
        for epoch in session.state.epoch..self.job.params.epochs {
            session.epoch(&self.job, &makers, self.ctx, epoch)?;
        }
        session.finish(&self.job, self.ctx)
    }
}

/// A training run on backend `B`.
struct Session<B: AutodiffBackend> {
    device: B::Device,
    model: Option<VqaModel<B>>,
    optimizer: Option<GroupedAdamW<VqaModel<B>, B>>,
    state: TrainState,
    schedule: WarmupCosine,
}

impl<B: AutodiffBackend> Session<B> {
    /// A fresh model (from the checkpoint input when given), or the state of an interrupted run.
    fn start(
        job: &TrainJob,
        ctx: &mut StageContext<'_>,
        device: B::Device,
    ) -> Result<Self, StageError> {
        let p = &job.params;
        let mut model = seeded_model::<B>(&job.config, p.seed, &device)?;
        if let Some(file) = &job.checkpoint {
            let report = load_checkpoint(&mut model, file, &LoadOptions::default())
                .map_err(StageError::other)?;
            ctx.log_line(&format!(
                "loaded {} tensors from {} (kept {} at their initialisation, ignored {})",
                report.applied,
                file.display(),
                report.kept.len(),
                report.unused.len()
            ));
            if !report.skipped_entries.is_empty() {
                ctx.log_line(&format!(
                    "only the weights of {} are used; its other entries ({}) are not: training \
                     starts at epoch 0 with a fresh optimizer state",
                    file.display(),
                    report.skipped_entries.join(", ")
                ));
            }
        }
        let rule = GroupRule {
            depth: job.config.encoder.depth,
            layer_decay: p.layer_decay,
            head_lr_scale: p.head_lr_scale,
        };
        let settings = AdamWSettings {
            beta_1: p.betas[0] as f32,
            beta_2: p.betas[1] as f32,
            epsilon: p.eps as f32,
            weight_decay: p.weight_decay as f32,
        };
        let mut optimizer = GroupedAdamW::new(rule, &settings);
        let mut state = TrainState {
            epoch: 0,
            updates: 0,
            fingerprint: job.fingerprint(),
            history: Default::default(),
        };
        match checkpoint::latest_state(ctx.out_dir)? {
            Some((saved, path)) if saved.fingerprint == state.fingerprint => {
                (model, optimizer) = checkpoint::restore(&path, model, optimizer, &device)?;
                ctx.log_line(&format!(
                    "resuming after epoch {} from {}",
                    saved.epoch,
                    path.display()
                ));
                state = saved;
                state.history.report(ctx.progress);
            }
            Some(_) => checkpoint::remove_all(ctx.out_dir)?,
            None => {}
        }
        model.set_compute(p.precision.compute_dtype());
        model.set_fused_attention(p.fused_attention);
        let schedule = job.schedule();
        Ok(Self {
            device,
            model: Some(model),
            optimizer: Some(optimizer),
            state,
            schedule,
        })
    }

    fn model(&self) -> &VqaModel<B> {
        self.model
            .as_ref()
            .expect("the model is only taken during a step")
    }

    /// Trains one epoch (0-based `epoch`), validates, checkpoints.
    fn epoch(
        &mut self,
        job: &TrainJob,
        makers: &Makers<'_>,
        ctx: &mut StageContext<'_>,
        epoch: usize,
    ) -> Result<(), StageError> {
        let p = &job.params;
        // Reseeded per epoch, so a resumed run draws the same drop-path masks as an uninterrupted one.
        // Under the lock: reseeding the shared generator while another stage initialises its model
        // would change that model's weights.
        with_rng_lock(|| B::seed(&self.device, p.seed ^ ((epoch as u64 + 1) << 32)));
        let maker = &makers.train;
        let batches = batch_rows(job.train.len(), p.batch_size, Some((p.seed, epoch as u64)));
        let per_epoch = batches.len() as u64;
        ctx.progress.start(per_epoch * p.epochs as u64, "batches");
        ctx.progress.set_position(per_epoch * epoch as u64);
        let started = Instant::now();
        let mut run = EpochRun {
            epoch: epoch + 1,
            tally: Tally::default(),
            pending: 0,
            accumulator: GradientsAccumulator::new(),
            stats: StepStats::default(),
        };
        let last = batches.len();
        let mut seen = 0;
        for_each_batch(maker, &batches, epoch as u64, |host| {
            ctx.cancel.check()?;
            seen += 1;
            self.micro_batch(job, &mut run, host, seen == last);
            ctx.progress.advance(1);
            // The last batch closes a step: every step is read before validation and checkpoint.
            if run.stats.pending_steps() >= p.log_every || seen == last {
                self.read_steps(&mut run, ctx, p.epochs, started)?;
            }
            Ok(())
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let val = self.validate(job, makers, ctx)?;
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: run.tally.loss(),
            train_accuracy: run.tally.accuracy(),
            val_loss: val.map(|v| v.loss()),
            val_accuracy: val.map(|v| v.accuracy()),
            seconds,
            samples_per_s: run.tally.samples as f64 / seconds,
        };
        ctx.log_line(&record.line(p.epochs));
        record.report(self.state.updates as u64, ctx.progress);
        self.state.history.epochs.push(record);
        self.state.epoch = epoch + 1;
        self.after_epoch(job, ctx)
    }

    /// Forward and backward on one micro-batch; an optimizer step when it closes a step. Nothing is
    /// read from the device: the loss and the answers correct are kept in `run.stats`.
    fn micro_batch(
        &mut self,
        job: &TrainJob,
        run: &mut EpochRun<B>,
        host: HostBatch,
        closes_epoch: bool,
    ) {
        let rows = host.rows.len() as u64;
        let batch = DeviceBatch::<B>::new(host, &self.device);
        let labels = batch.labels.clone().expect("training splits are labelled");
        let model = self.model.take().expect("model present between steps");
        one_graph_at_a_time(|| {
            let (loss, correct) = loss_and_correct(option_logits(&model, &batch), labels);
            run.stats
                .add_micro_batch(loss.clone().inner(), correct.inner(), rows);
            let grads = GradientsParams::from_grads(
                loss.div_scalar(job.params.accumulate as f64).backward(),
                &model,
            );
            run.accumulator.accumulate(&model, grads);
        });
        run.pending += 1;
        self.model = Some(model);
        if run.pending == job.params.accumulate || closes_epoch {
            self.optimizer_step(job, run);
        }
    }

    /// Reads the closed steps from the device into the history and shows the epoch's figures.
    fn read_steps(
        &mut self,
        run: &mut EpochRun<B>,
        ctx: &StageContext<'_>,
        epochs: usize,
        started: Instant,
    ) -> Result<(), StageError> {
        let steps = run.stats.read(&mut run.tally)?;
        for step in &steps {
            step.report(ctx.progress);
        }
        self.state.history.steps.extend(steps);
        let rate = run.tally.samples as f64 / started.elapsed().as_secs_f64();
        ctx.progress.message(&format!(
            "epoch {}/{epochs} loss {:.4} acc {:.1}% {rate:.1} q/s",
            run.epoch,
            run.tally.loss(),
            100.0 * run.tally.accuracy()
        ));
        Ok(())
    }

    fn optimizer_step(&mut self, job: &TrainJob, run: &mut EpochRun<B>) {
        let model = self.model.take().expect("model present between steps");
        let mut grads = run.accumulator.grads();
        let grad_norm = clip_global_norm(&model, &mut grads, job.params.clip_grad);
        let lr = self.schedule.at(self.state.updates);
        let optimizer = self.optimizer.as_mut().expect("optimizer present");
        self.model = Some(one_graph_at_a_time(|| optimizer.step(lr, model, grads)));
        self.state.updates += 1;
        let meta = StepMeta {
            step: self.state.updates,
            epoch: run.epoch,
            lr,
        };
        run.stats.close_step(meta, grad_norm);
        run.pending = 0;
    }

    fn validate(
        &self,
        job: &TrainJob,
        makers: &Makers<'_>,
        ctx: &mut StageContext<'_>,
    ) -> Result<Option<Tally>, StageError> {
        let (Some(val), Some(maker)) = (&job.val, &makers.val) else {
            return Ok(None);
        };
        ctx.progress.message("validating");
        let model = self.model().valid();
        let silent = pipeline_api::SilentProgress;
        let scores = score(
            &model,
            maker,
            val.len(),
            job.eval_batch(),
            &self.device,
            &silent,
            ctx.cancel,
        )?;
        Ok(scores.tally)
    }

    /// Saves the best model so far (when kept), the checkpoint, and the curves so far.
    fn after_epoch(
        &mut self,
        job: &TrainJob,
        ctx: &mut StageContext<'_>,
    ) -> Result<(), StageError> {
        let history = &self.state.history;
        let current = history.epochs.last().expect("an epoch was just recorded");
        if job.params.keep == Keep::Best
            && history.best_epoch().map(|b| b.epoch) == Some(current.epoch)
        {
            let info = ModelInfo::new(
                job.config.clone(),
                job.params.head,
                job.params.blank_images,
                current.epoch,
                current.val_accuracy,
            );
            let best = ctx.out_dir.join(BEST_DIR);
            std::fs::create_dir_all(&best)
                .map_err(|e| StageError::io("creating the best-model folder", e))?;
            saved_model::save(&best, &self.model().valid(), &info)?;
        }
        checkpoint::save(
            ctx.out_dir,
            self.model(),
            self.optimizer.as_ref().expect("optimizer"),
            &self.state,
        )?;
        self.write_reports(job, ctx)
    }

    fn write_reports(&self, job: &TrainJob, ctx: &StageContext<'_>) -> Result<(), StageError> {
        let history = &self.state.history;
        history.write(ctx.out_dir)?;
        let title = format!("{} ({:?} head)", ctx.stage, job.params.head);
        write_curves(history, &title, &ctx.out_dir.join(CURVES_PNG))
    }

    /// Writes the output model and removes the checkpoints.
    fn finish(self, job: &TrainJob, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let p = &job.params;
        let out = ctx.out_dir;
        let history = &self.state.history;
        let best = out.join(BEST_DIR);
        if p.keep == Keep::Best && best.join(MODEL_FILE).is_file() {
            for name in [MODEL_FILE, saved_model::MODEL_INFO] {
                std::fs::rename(best.join(name), out.join(name)).map_err(|e| {
                    StageError::io(format!("moving the best model into `{}`", out.display()), e)
                })?;
            }
            std::fs::remove_dir_all(&best)
                .map_err(|e| StageError::io("removing the best-model folder", e))?;
        } else {
            let last = history.epochs.last();
            let info = ModelInfo::new(
                job.config.clone(),
                p.head,
                p.blank_images,
                p.epochs,
                last.and_then(|e| e.val_accuracy),
            );
            saved_model::save(out, &self.model().valid(), &info)?;
        }
        self.write_reports(job, ctx)?;
        checkpoint::remove_all(out)
    }
}

/// Running state of one epoch.
struct EpochRun<B: AutodiffBackend> {
    /// 1-based.
    epoch: usize,
    /// The micro-batches read so far.
    tally: Tally,
    /// Micro-batches since the last optimizer step.
    pending: usize,
    accumulator: GradientsAccumulator<VqaModel<B>>,
    /// The steps not read from the device yet.
    stats: StepStats<B::InnerBackend>,
}
