//! Runs a plan: stages whose inputs are ready are keyed in parallel, cache hits are taken, misses
//! run as soon as a job slot and their resources are free. Execution sits behind [`Executor`] so
//! that a cluster executor can take the place of running stages in this process.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Instant;

use crate::job::{Engine, Grant, JobError, Prepared};
use crate::ledger::{self, LedgerEntry, Outcome, now_unix};
use crate::progress::{Reporter, StageProgress};
use crate::resources::Pool;
use crate::store::{RunRecord, Store};

/// Runs one prepared stage somewhere and returns its committed record.
pub trait Executor: Sync {
    fn execute(&self, engine: &Engine<'_>, prepared: &Prepared, grant: &Grant, progress: &StageProgress, reporter: &Reporter) -> Result<(RunRecord, bool), JobError>;
}

/// Runs stages in this process, each on its own thread.
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn execute(&self, engine: &Engine<'_>, prepared: &Prepared, grant: &Grant, progress: &StageProgress, reporter: &Reporter) -> Result<(RunRecord, bool), JobError> {
        let name = &engine.plan.stages[prepared.index].name;
        let mut on_wait = |pid: Option<u32>| {
            let holder = match pid {
                Some(pid) if pid == std::process::id() => " (another stage of this run has the same key)".to_string(),
                Some(pid) => format!(" (pid {pid})"),
                None => String::new(),
            };
            reporter.line(&format!("  waiting for `{name}`: its key is being computed elsewhere{holder}"));
        };
        engine.execute(prepared, grant, progress, &mut on_wait)
    }
}

/// What the user asked of this run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub jobs: usize,
    pub keep_going: bool,
    /// Stages to consider (targets and their ancestors); all when empty.
    pub selected: BTreeSet<usize>,
    /// Stages to run even if cached.
    pub forced: BTreeSet<usize>,
}

/// How each stage ended.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub outcomes: BTreeMap<usize, Outcome>,
    pub errors: BTreeMap<usize, String>,
}

impl RunSummary {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.values().filter(|o| **o == outcome).count()
    }
}

enum Message {
    Prepared(usize, Result<Prepared, JobError>),
    Finished(usize, String, Result<(RunRecord, bool), JobError>, f64, Grant),
}

/// Runs the selected stages of `engine.plan`.
pub fn run(engine: &Engine<'_>, executor: &dyn Executor, reporter: &Reporter, pool: Pool, options: &RunOptions) -> RunSummary {
    let mut scheduler = Scheduler::new(engine, reporter, pool, options);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<Message>();
        loop {
            scheduler.launch(scope, &sender, executor);
            if scheduler.in_flight == 0 {
                break;
            }
            let message = receiver.recv().expect("a job in flight holds a sender");
            scheduler.handle(message);
        }
    });
    scheduler.finish()
}

struct Scheduler<'e, 'p> {
    engine: &'e Engine<'p>,
    reporter: &'e Reporter,
    pool: Pool,
    options: &'e RunOptions,
    /// Output digest of each finished stage.
    outputs: Vec<Option<String>>,
    waiting: BTreeSet<usize>,
    ready: BTreeMap<usize, Prepared>,
    in_flight: usize,
    stopping: bool,
    summary: RunSummary,
}

impl<'e, 'p> Scheduler<'e, 'p> {
    fn new(engine: &'e Engine<'p>, reporter: &'e Reporter, pool: Pool, options: &'e RunOptions) -> Self {
        let all = engine.plan.stages.len();
        let waiting = if options.selected.is_empty() { (0..all).collect() } else { options.selected.clone() };
        Self {
            engine,
            reporter,
            pool,
            options,
            outputs: vec![None; all],
            waiting,
            ready: BTreeMap::new(),
            in_flight: 0,
            stopping: false,
            summary: RunSummary::default(),
        }
    }

    fn name(&self, index: usize) -> &str {
        &self.engine.plan.stages[index].name
    }

    fn launch<'s>(&mut self, scope: &'s std::thread::Scope<'s, '_>, sender: &mpsc::Sender<Message>, executor: &'s dyn Executor)
    where
        'e: 's,
        'p: 's,
    {
        if self.engine.cancel.is_cancelled() {
            self.stopping = true;
        }
        if self.stopping {
            return;
        }
        let jobs = self.options.jobs.max(1);
        let ready_keys: Vec<usize> = self.ready.keys().copied().collect();
        for index in ready_keys {
            if self.in_flight >= jobs {
                return;
            }
            let resources = self.engine.plan.stages[index].resources;
            let Some(grant) = self.pool.try_take(&resources) else { continue };
            let prepared = self.ready.remove(&index).expect("listed above");
            self.reporter.line(&format!("run     {}", self.name(index)));
            let progress = self.reporter.stage(self.name(index));
            self.in_flight += 1;
            let (engine, reporter, sender) = (self.engine, self.reporter, sender.clone());
            scope.spawn(move || {
                let started = Instant::now();
                let result = executor.execute(engine, &prepared, &grant, &progress, reporter);
                progress.finish();
                let _ = sender.send(Message::Finished(prepared.index, prepared.key.clone(), result, started.elapsed().as_secs_f64(), grant));
            });
        }
        let graph = &self.engine.plan.graph;
        let startable: Vec<usize> = self.waiting.iter().copied()
            .filter(|&i| graph.upstream(i).iter().all(|&u| self.outputs[u].is_some()))
            .collect();
        for index in startable {
            if self.in_flight >= jobs {
                return;
            }
            self.waiting.remove(&index);
            self.in_flight += 1;
            let (engine, sender, upstream) = (self.engine, sender.clone(), self.outputs.clone());
            scope.spawn(move || {
                let _ = sender.send(Message::Prepared(index, engine.prepare(index, &upstream)));
            });
        }
    }

    fn handle(&mut self, message: Message) {
        self.in_flight -= 1;
        match message {
            Message::Prepared(index, Ok(prepared)) => self.prepared(index, prepared),
            Message::Prepared(index, Err(error)) => self.failed(index, None, &error, 0.0),
            Message::Finished(index, key, result, seconds, grant) => {
                self.pool.give_back(grant);
                match result {
                    Ok((record, ran)) => self.done(index, &record, if ran { Outcome::Ran } else { Outcome::Hit }, seconds),
                    Err(error) => self.failed(index, Some(key), &error, seconds),
                }
            }
        }
    }

    fn prepared(&mut self, index: usize, mut prepared: Prepared) {
        let stage = &self.engine.plan.stages[index];
        prepared.force |= self.options.forced.contains(&index);
        if !prepared.force {
            if let Some(record) = self.engine.store.lookup(&prepared.key) {
                self.done(index, &record, Outcome::Hit, 0.0);
                return;
            }
        }
        if stage.resources.gpus > self.pool.total_gpus() {
            let error = JobError::Invalid(format!(
                "needs {} GPU(s) but {} are available; pass --gpus or set PIPELINE_GPUS, or lower `resources.gpu`",
                stage.resources.gpus,
                self.pool.total_gpus()
            ));
            self.failed(index, Some(prepared.key), &error, 0.0);
            return;
        }
        self.ready.insert(index, prepared);
    }

    fn done(&mut self, index: usize, record: &RunRecord, outcome: Outcome, seconds: f64) {
        let short = &record.key[..12];
        let verb = match outcome {
            Outcome::Hit => format!("cached  {} ({short})", self.name(index)),
            _ => format!("done    {} in {seconds:.1}s ({short})", self.name(index)),
        };
        self.reporter.line(&verb);
        if let Err(error) = self.engine.store.set_last(&self.engine.pipeline_id, record) {
            tracing::warn!("could not remember the last run of `{}`: {error}", self.name(index));
        }
        match self.engine.publish(index, record) {
            Ok(paths) => {
                for path in paths {
                    self.reporter.line(&format!("        published {path}"));
                }
            }
            Err(error) => return self.failed(index, Some(record.key.clone()), &error, seconds),
        }
        self.outputs[index] = Some(record.output.clone());
        self.record(index, Some(record.key.clone()), outcome, seconds, None);
    }

    fn failed(&mut self, index: usize, key: Option<String>, error: &JobError, seconds: f64) {
        let outcome = if error.is_cancelled() { Outcome::Cancelled } else { Outcome::Failed };
        // The log ends with the reason, so that it alone says why the stage failed.
        let reason = format!("FAILED  {}: {error}", self.name(index));
        let log_hint = match self.engine.store.append_log(&self.engine.run_id, self.name(index), &reason) {
            Ok(log) => format!("\n        log: {}", log.display()),
            Err(write_error) => {
                tracing::warn!("could not write the failure to the log of `{}`: {write_error}", self.name(index));
                String::new()
            }
        };
        self.reporter.line(&format!("{reason}{log_hint}"));
        self.summary.errors.insert(index, error.to_string());
        self.record(index, key, outcome, seconds, Some(error.to_string()));
        if !self.options.keep_going {
            self.stopping = true;
        }
        for skipped in self.engine.plan.graph.with_descendants(&[index]) {
            if skipped != index && self.waiting.remove(&skipped) {
                self.record(skipped, None, Outcome::Skipped, 0.0, None);
            }
        }
    }

    fn record(&mut self, index: usize, key: Option<String>, outcome: Outcome, seconds: f64, error: Option<String>) {
        self.summary.outcomes.insert(index, outcome);
        let log = self.engine.store.log_file(&self.engine.run_id, self.name(index));
        let entry = LedgerEntry {
            run_id: self.engine.run_id.clone(),
            pipeline: self.engine.pipeline_id.clone(),
            stage: self.name(index).to_string(),
            key,
            outcome,
            duration_s: seconds,
            finished_unix: now_unix(),
            log: log.exists().then(|| log.display().to_string()),
            error,
        };
        if let Err(error) = ledger::append(&self.engine.store.ledger_file(), &entry) {
            tracing::warn!("could not append to the run history: {error}");
        }
    }

    fn finish(mut self) -> RunSummary {
        let cancelled = self.engine.cancel.is_cancelled();
        let left: Vec<usize> = self.waiting.iter().chain(self.ready.keys()).copied().collect();
        for index in left {
            let outcome = if cancelled { Outcome::Cancelled } else { Outcome::Skipped };
            self.summary.outcomes.insert(index, outcome);
        }
        self.summary
    }
}
