//! Runs a plan: stages whose inputs are ready are keyed in parallel, cache hits are taken, misses
//! run as soon as a job slot and their resources are free. Execution sits behind [`Executor`] so
//! that a cluster executor can take the place of running stages in this process.
//!
//! Scheduling is driven by events: each stage counts its unfinished upstream stages, a finished
//! stage lowers the counts of its downstream stages, and those that reach zero join an ordered
//! queue. A run costs O((stages + edges) log stages), whatever the shape of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use crate::cache::ids::{Digest, StageKey};
use crate::cache::ledger::{self, LedgerEntry, Outcome, now_unix};
use crate::cache::store::RunRecord;
use crate::run::job::{Grant, JobError, KeyedJob, RunContext, Upstream};
use crate::run::progress::{Reporter, StageProgress};
use crate::run::resources::Pool;

/// A keyed job, and its cached record when it is a hit (looked up by the keying thread).
type Keyed = (KeyedJob, Option<Hit>);

/// A cached result, and whether it is already this stage's last run in this pipeline.
struct Hit {
    record: RunRecord,
    last_current: bool,
}

/// A stage to key, for a keying thread.
struct Work {
    index: usize,
    upstream: Digests,
    forced: bool,
}

/// Runs one keyed job somewhere and returns its committed record.
pub trait Executor: Sync {
    fn execute(
        &self,
        context: &RunContext<'_>,
        job: &KeyedJob,
        grant: &Grant,
        progress: &StageProgress,
        reporter: &Reporter,
    ) -> Result<(RunRecord, bool), JobError>;
}

/// Runs stages in this process, each on its own thread.
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn execute(
        &self,
        context: &RunContext<'_>,
        job: &KeyedJob,
        grant: &Grant,
        progress: &StageProgress,
        reporter: &Reporter,
    ) -> Result<(RunRecord, bool), JobError> {
        let name = &context.plan.stages[job.index].name;
        let mut on_wait = |pid: Option<u32>| {
            let holder = match pid {
                Some(pid) if pid == std::process::id() => {
                    " (another stage of this run has the same key)".to_string()
                }
                Some(pid) => format!(" (pid {pid})"),
                None => String::new(),
            };
            reporter.line(&format!(
                "  waiting for `{name}`: its key is being computed elsewhere{holder}"
            ));
        };
        context.execute(job, grant, progress, &mut on_wait)
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
    Keyed(usize, Result<Keyed, JobError>),
    Finished(
        usize,
        StageKey,
        Result<(RunRecord, bool), JobError>,
        f64,
        Grant,
    ),
}

/// Runs the selected stages of `context.plan`.
pub fn run(
    context: &RunContext<'_>,
    executor: &dyn Executor,
    reporter: &Reporter,
    pool: Pool,
    options: &RunOptions,
) -> RunSummary {
    let mut scheduler = Scheduler::new(context, reporter, pool, options);
    let keyers = options.jobs.max(1).min(scheduler.waiting.len());
    let (work, queue) = mpsc::channel::<Work>();
    let queue = Mutex::new(queue);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<Message>();
        for _ in 0..keyers {
            let (queue, sender) = (&queue, sender.clone());
            scope.spawn(move || key_stages(context, queue, &sender));
        }
        loop {
            scheduler.launch(scope, &sender, &work, executor);
            if scheduler.in_flight == 0 {
                break;
            }
            let message = receiver.recv().expect("a job in flight holds a sender");
            scheduler.handle(message);
        }
        // Closing the queue ends the keying threads.
        drop(work);
    });
    scheduler.finish()
}

/// A keying thread: keys the stages sent on `queue` and looks their keys up in the cache,
/// until the queue is closed.
fn key_stages(
    context: &RunContext<'_>,
    queue: &Mutex<mpsc::Receiver<Work>>,
    sender: &mpsc::Sender<Message>,
) {
    loop {
        let next = queue.lock().map(|queue| queue.recv());
        let Ok(Ok(Work {
            index,
            upstream,
            forced,
        })) = next
        else {
            return;
        };
        let keyed = context.key_stage(index, &upstream).map(|mut job| {
            job.force |= forced;
            let hit = if job.force {
                None
            } else {
                context.lookup(&job.key)
            };
            let hit = hit.map(|record| {
                let stage = &context.plan.stages[index].name;
                let last_current = context
                    .cache
                    .last(&context.pipeline_id, stage)
                    .is_some_and(|last| last.key == record.key);
                Hit {
                    record,
                    last_current,
                }
            });
            (job, hit)
        });
        if sender.send(Message::Keyed(index, keyed)).is_err() {
            return;
        }
    }
}

struct Scheduler<'e, 'p> {
    context: &'e RunContext<'p>,
    reporter: &'e Reporter,
    pool: Pool,
    options: &'e RunOptions,
    /// Output digest of each finished stage.
    outputs: Vec<Option<Digest>>,
    /// Selected stages not yet keyed.
    waiting: BTreeSet<usize>,
    /// For each stage, how many of its upstream stages have not finished.
    unfinished: Vec<usize>,
    /// Waiting stages whose upstream stages have all finished, in plan order.
    startable: BTreeSet<usize>,
    /// Stages already skipped because a stage they depend on failed.
    skipped: Vec<bool>,
    /// Keyed jobs that missed the cache, waiting for a job slot and their resources.
    ready: BTreeMap<usize, KeyedJob>,
    in_flight: usize,
    stopping: bool,
    summary: RunSummary,
}

impl<'e, 'p> Scheduler<'e, 'p> {
    fn new(
        context: &'e RunContext<'p>,
        reporter: &'e Reporter,
        pool: Pool,
        options: &'e RunOptions,
    ) -> Self {
        let all = context.plan.stages.len();
        let waiting: BTreeSet<usize> = if options.selected.is_empty() {
            (0..all).collect()
        } else {
            options.selected.clone()
        };
        let graph = &context.plan.graph;
        let unfinished: Vec<usize> = (0..all).map(|i| graph.upstream(i).len()).collect();
        let startable = waiting
            .iter()
            .copied()
            .filter(|&i| unfinished[i] == 0)
            .collect();
        Self {
            context,
            reporter,
            pool,
            options,
            outputs: vec![None; all],
            waiting,
            unfinished,
            startable,
            skipped: vec![false; all],
            ready: BTreeMap::new(),
            in_flight: 0,
            stopping: false,
            summary: RunSummary::default(),
        }
    }

    fn name(&self, index: usize) -> &str {
        &self.context.plan.stages[index].name
    }

    fn launch<'s>(
        &mut self,
        scope: &'s std::thread::Scope<'s, '_>,
        sender: &mpsc::Sender<Message>,
        work: &mpsc::Sender<Work>,
        executor: &'s dyn Executor,
    ) where
        'e: 's,
        'p: 's,
    {
        if self.context.cancel.is_cancelled() {
            self.stopping = true;
        }
        if self.stopping {
            return;
        }
        let jobs = self.options.jobs.max(1);
        let mut from = 0;
        while self.in_flight < jobs {
            let Some(index) = self.ready.range(from..).next().map(|(&index, _)| index) else {
                break;
            };
            from = index + 1;
            let resources = self.context.plan.stages[index].resources;
            let Some(grant) = self.pool.try_take(&resources) else {
                continue;
            };
            let job = self.ready.remove(&index).expect("found above");
            self.reporter.line(&format!("run     {}", self.name(index)));
            let progress = self.reporter.stage(self.name(index), &job.key);
            self.in_flight += 1;
            let (context, reporter, sender) = (self.context, self.reporter, sender.clone());
            scope.spawn(move || {
                let started = Instant::now();
                let result = executor.execute(context, &job, &grant, &progress, reporter);
                progress.finish();
                let _ = sender.send(Message::Finished(
                    job.index,
                    job.key.clone(),
                    result,
                    started.elapsed().as_secs_f64(),
                    grant,
                ));
            });
        }
        while self.in_flight < jobs {
            let Some(index) = self.startable.pop_first() else {
                break;
            };
            self.waiting.remove(&index);
            self.in_flight += 1;
            let upstream = self.upstream_digests(index);
            let forced = self.options.forced.contains(&index);
            work.send(Work {
                index,
                upstream,
                forced,
            })
            .expect("the keying threads run until the queue closes");
        }
    }

    /// The output digests of the stages `index` reads, for the thread that keys it.
    fn upstream_digests(&self, index: usize) -> Digests {
        Digests(
            self.context
                .plan
                .graph
                .upstream(index)
                .into_iter()
                .filter_map(|u| Some((u, self.outputs[u].clone()?)))
                .collect(),
        )
    }

    fn handle(&mut self, message: Message) {
        self.in_flight -= 1;
        match message {
            Message::Keyed(index, Ok((job, hit))) => self.keyed(index, job, hit),
            Message::Keyed(index, Err(error)) => self.failed(index, None, &error, 0.0),
            Message::Finished(index, key, result, seconds, grant) => {
                self.pool.give_back(grant);
                match result {
                    Ok((record, ran)) => self.done(
                        index,
                        &record,
                        if ran { Outcome::Ran } else { Outcome::Hit },
                        seconds,
                        true,
                    ),
                    Err(error) => self.failed(index, Some(key), &error, seconds),
                }
            }
        }
    }

    fn keyed(&mut self, index: usize, job: KeyedJob, hit: Option<Hit>) {
        let stage = &self.context.plan.stages[index];
        if let Some(Hit {
            record,
            last_current,
        }) = hit
        {
            self.done(index, &record, Outcome::Hit, 0.0, !last_current);
            return;
        }
        if stage.resources.gpus > self.pool.total_gpus() {
            let error = JobError::Invalid(format!(
                "needs {} GPU(s) but {} are available; pass --gpus or set PIPELINE_GPUS, or lower `resources.gpu`",
                stage.resources.gpus,
                self.pool.total_gpus()
            ));
            self.failed(index, Some(job.key), &error, 0.0);
            return;
        }
        self.ready.insert(index, job);
    }

    /// `remember`: record it as the stage's last run (not needed when it already is).
    fn done(
        &mut self,
        index: usize,
        record: &RunRecord,
        outcome: Outcome,
        seconds: f64,
        remember: bool,
    ) {
        let short = record.key.short();
        let verb = match outcome {
            Outcome::Hit => format!("cached  {} ({short})", self.name(index)),
            _ => format!("done    {} in {seconds:.1}s ({short})", self.name(index)),
        };
        self.reporter.line(&verb);
        if remember
            && let Err(error) = self
                .context
                .cache
                .set_last(&self.context.pipeline_id, record)
        {
            tracing::warn!(
                "could not remember the last run of `{}`: {error}",
                self.name(index)
            );
        }
        // Most stages publish nothing: they need no look at the project's folders.
        let publishes = !self.context.plan.stages[index]
            .configured
            .publishes()
            .is_empty();
        match if publishes {
            self.context.publish(index, record)
        } else {
            Ok(Vec::new())
        } {
            Ok(paths) => {
                for path in paths {
                    self.reporter.line(&format!("        published {path}"));
                }
            }
            Err(error) => return self.failed(index, Some(record.key.clone()), &error, seconds),
        }
        self.outputs[index] = Some(record.output.clone());
        self.record(index, Some(record.key.clone()), outcome, seconds, None);
        for down in self.context.plan.graph.downstream(index) {
            self.unfinished[down] -= 1;
            if self.unfinished[down] == 0 && self.waiting.contains(&down) {
                self.startable.insert(down);
            }
        }
    }

    fn failed(&mut self, index: usize, key: Option<StageKey>, error: &JobError, seconds: f64) {
        let outcome = if error.is_cancelled() {
            Outcome::Cancelled
        } else {
            Outcome::Failed
        };
        // The log ends with the reason, so that it alone says why the stage failed.
        let reason = format!("FAILED  {}: {error}", self.name(index));
        let log_hint =
            match self
                .context
                .cache
                .append_log(&self.context.run_id, self.name(index), &reason)
            {
                Ok(log) => format!("\n        log: {}", log.display()),
                Err(write_error) => {
                    tracing::warn!(
                        "could not write the failure to the log of `{}`: {write_error}",
                        self.name(index)
                    );
                    String::new()
                }
            };
        self.reporter.line(&format!("{reason}{log_hint}"));
        self.summary.errors.insert(index, error.to_string());
        self.record(index, key, outcome, seconds, Some(error.to_string()));
        if !self.options.keep_going {
            self.stopping = true;
        }
        self.skip_downstream(index);
    }

    /// Records every waiting stage that depends on `failed` as skipped. A stage reached from an
    /// earlier failure is not walked again: its descendants were.
    fn skip_downstream(&mut self, failed: usize) {
        let graph = &self.context.plan.graph;
        let mut stack = graph.downstream(failed);
        while let Some(next) = stack.pop() {
            if std::mem::replace(&mut self.skipped[next], true) {
                continue;
            }
            stack.extend(graph.downstream(next));
            if self.waiting.remove(&next) {
                self.startable.remove(&next);
                self.record(next, None, Outcome::Skipped, 0.0, None);
            }
        }
    }

    fn record(
        &mut self,
        index: usize,
        key: Option<StageKey>,
        outcome: Outcome,
        seconds: f64,
        error: Option<String>,
    ) {
        self.summary.outcomes.insert(index, outcome);
        let log = self
            .context
            .cache
            .log_file(&self.context.run_id, self.name(index));
        let entry = LedgerEntry {
            run_id: self.context.run_id.clone(),
            pipeline: self.context.pipeline_id.clone(),
            stage: self.name(index).to_string(),
            key,
            outcome,
            duration_s: seconds,
            finished_unix: now_unix(),
            log: log.exists().then(|| log.display().to_string()),
            error,
        };
        if let Err(error) = ledger::append(&self.context.cache.ledger_file(), &entry) {
            tracing::warn!("could not append to the run history: {error}");
        }
    }

    fn finish(mut self) -> RunSummary {
        let cancelled = self.context.cancel.is_cancelled();
        let left: Vec<usize> = self
            .waiting
            .iter()
            .chain(self.ready.keys())
            .copied()
            .collect();
        for index in left {
            let outcome = if cancelled {
                Outcome::Cancelled
            } else {
                Outcome::Skipped
            };
            self.summary.outcomes.insert(index, outcome);
        }
        self.summary
    }
}

/// The output digests a stage reads, sorted by stage index.
struct Digests(Vec<(usize, Digest)>);

impl Upstream for Digests {
    fn digest(&self, stage: usize) -> Option<&Digest> {
        let found = self
            .0
            .binary_search_by_key(&stage, |(index, _)| *index)
            .ok()?;
        Some(&self.0[found].1)
    }
}
