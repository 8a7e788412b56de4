//! What the page shows, read from the manifest, the cache, the run history and the live files of
//! runs in progress. Built off the server's threads (it hashes inputs as `status` does, through the
//! stat snapshot, which it never saves) and without taking any lock a run needs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pipeline_api::CancelToken;

use crate::cache::ledger::{self, LedgerEntry, Outcome};
use crate::cache::stat_cache::StatCache;
use crate::cache::status::{self, StageStatus};
use crate::cache::store::LocalStore;
use crate::cli::commands::{Session, cache_dir};
use crate::plan::Plan;
use crate::registry::Registry;
use crate::run::job::{KeyedJob, RunContext};
use crate::run::live::{self, LiveRun, LiveStage};

/// How a stage is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Computed by the last run that needed it.
    UpToDate,
    /// Up to date, taken from the cache by the last run that needed it.
    Cached,
    Stale,
    Running,
    Failed,
}

impl Shown {
    /// The word in the page, its CSS class and `data-status`.
    pub fn word(self) -> &'static str {
        match self {
            Shown::UpToDate => "up-to-date",
            Shown::Cached => "cached",
            Shown::Stale => "stale",
            Shown::Running => "running",
            Shown::Failed => "failed",
        }
    }
}

/// One stage instance.
pub struct StageView {
    pub name: String,
    pub kind: &'static str,
    pub desc: Option<String>,
    pub shown: Shown,
    /// What `status` says of it.
    pub described: String,
    /// Why it would run (`status`'s field-level reasons).
    pub reasons: Vec<String>,
    pub key: Option<String>,
    /// The key manifest, as `explain` prints it.
    pub manifest: Option<String>,
    /// The stages it reads.
    pub upstream: Vec<usize>,
    /// Its output folder when up to date.
    pub output: Option<PathBuf>,
    /// Its progress and run when running now.
    pub running: Option<(String, LiveStage)>,
    /// Its latest entry in the run history.
    pub last: Option<LedgerEntry>,
    /// The log to show: the running one, else the last run's.
    pub log: Option<PathBuf>,
    /// The metrics of the run that computed what is shown (running or cached).
    pub metrics: Option<PathBuf>,
    /// Where to look for pictures: the output, or the staging folder of a running stage.
    pub pictures_in: Option<PathBuf>,
}

/// The whole page's data.
pub struct View {
    pub manifest: PathBuf,
    pub root: PathBuf,
    pub cache: PathBuf,
    pub stages: Vec<StageView>,
    pub runs: Vec<LiveRun>,
    /// The pipeline's run history, newest first (at most 40 entries).
    pub history: Vec<LedgerEntry>,
    /// What is wrong (an invalid manifest, no cache yet), said on the page.
    pub notes: Vec<String>,
}

/// The stat snapshot of the cache the view reads, kept in memory from one view to the next (and
/// never saved): an input is hashed once, not at every view.
#[derive(Default)]
pub struct Memory {
    stat_cache: Option<(PathBuf, Arc<StatCache>)>,
}

impl Memory {
    fn stat_cache(&mut self, store: &LocalStore) -> Arc<StatCache> {
        match &self.stat_cache {
            Some((base, kept)) if base == store.base() => Arc::clone(kept),
            _ => {
                let loaded = Arc::new(StatCache::load(
                    store.stat_file(),
                    vec![store.objects_dir()],
                ));
                self.stat_cache = Some((store.base().to_path_buf(), Arc::clone(&loaded)));
                loaded
            }
        }
    }
}

/// Reads everything the page shows. Never fails: what cannot be read becomes a note.
pub fn build(
    manifest: &Path,
    cache_flag: Option<&Path>,
    registry: &Registry,
    memory: &mut Memory,
) -> View {
    let plan = match Plan::load(manifest, registry) {
        Ok(plan) => plan,
        Err(error) => return View::broken(manifest, format!("The manifest is invalid:\n{error}")),
    };
    let cache = cache_dir(cache_flag, plan.configured_cache.as_deref(), &plan.root);
    if !cache.join("v1").is_dir() {
        let note = format!(
            "No cache at {} yet: nothing has run. Start `pipeline run {}`; this page follows it.",
            cache.display(),
            manifest.display()
        );
        return View::unrun(manifest, plan, cache, note);
    }
    match Session::open_with(manifest, cache_flag, registry, |store| {
        memory.stat_cache(store)
    }) {
        Ok(session) => View::of_session(manifest, &session, cache),
        Err(error) => View::broken(manifest, format!("Cannot open the cache: {error}")),
    }
}

impl View {
    fn broken(manifest: &Path, note: String) -> View {
        View {
            manifest: manifest.to_path_buf(),
            root: PathBuf::new(),
            cache: PathBuf::new(),
            stages: Vec::new(),
            runs: Vec::new(),
            history: Vec::new(),
            notes: vec![note],
        }
    }

    fn unrun(manifest: &Path, plan: Plan, cache: PathBuf, note: String) -> View {
        let stages = (0..plan.stages.len())
            .map(|index| {
                let mut stage = bare_stage(&plan, index);
                stage.reasons = vec!["never run".to_string()];
                stage
            })
            .collect();
        View {
            manifest: manifest.to_path_buf(),
            root: plan.root,
            cache,
            stages,
            runs: Vec::new(),
            history: Vec::new(),
            notes: vec![note],
        }
    }

    fn of_session(manifest: &Path, session: &Session, cache: PathBuf) -> View {
        let plan = &session.plan;
        let context = session.run_context(CancelToken::new());
        let report = status::compute(&context, &BTreeSet::new(), &BTreeSet::new());
        let runs = live::runs_in_progress(&session.store, &session.pipeline_id);
        let mut history: Vec<LedgerEntry> = ledger::read(&session.store.ledger_file())
            .into_iter()
            .filter(|entry| entry.pipeline == session.pipeline_id)
            .collect();
        let mut stages: Vec<StageView> = (0..plan.stages.len())
            .map(|index| bare_stage(plan, index))
            .collect();
        for (index, stage_status, job) in report.stages {
            let stage = &mut stages[index];
            stage.last = history
                .iter()
                .rev()
                .find(|e| e.stage == stage.name)
                .cloned();
            stage.fill(&context, session, &stage_status, job);
        }
        for run in &runs {
            mark_running(&mut stages, run, session);
        }
        history.reverse();
        history.truncate(40);
        View {
            manifest: manifest.to_path_buf(),
            root: plan.root.clone(),
            cache,
            stages,
            runs,
            history,
            notes: Vec::new(),
        }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }
}

impl StageView {
    /// A stage of kind `kind` reading the stages `upstream`, stale, with nothing known of it.
    pub fn new(name: &str, kind: &'static str, upstream: Vec<usize>) -> StageView {
        StageView {
            name: name.to_string(),
            kind,
            desc: None,
            shown: Shown::Stale,
            described: "stale".to_string(),
            reasons: Vec::new(),
            key: None,
            manifest: None,
            upstream,
            output: None,
            running: None,
            last: None,
            log: None,
            metrics: None,
            pictures_in: None,
        }
    }

    /// What `status` found, and where the stage's output, log and metrics are.
    fn fill(
        &mut self,
        context: &RunContext<'_>,
        session: &Session,
        stage_status: &StageStatus,
        job: Option<KeyedJob>,
    ) {
        self.key = job.as_ref().map(|job| job.key.to_string());
        self.manifest = job
            .as_ref()
            .and_then(|job| serde_json::to_string_pretty(&job.manifest).ok());
        self.described = stage_status.describe();
        self.shown = shown(stage_status, self.last.as_ref());
        if let StageStatus::Stale { reasons, .. } = stage_status {
            self.reasons = reasons.clone();
        }
        let record = job.and_then(|job| context.store.lookup(&job.key));
        if let (StageStatus::UpToDate { .. }, Some(record)) = (stage_status, record) {
            let output = context.store.output_path(&record.output);
            self.metrics = Some(live::metrics_file(
                &session.store,
                &record.run_id,
                &self.name,
            ));
            self.pictures_in = Some(output.clone());
            self.output = Some(output);
        }
        self.log = self
            .last
            .as_ref()
            .and_then(|e| e.log.clone())
            .map(PathBuf::from);
    }
}

/// The stages `run` runs now: their progress, log, metrics and staging folder.
fn mark_running(stages: &mut [StageView], run: &LiveRun, session: &Session) {
    for (name, live_stage) in &run.stages {
        let Some(stage) = stages.iter_mut().find(|s| &s.name == name) else {
            continue;
        };
        stage.shown = Shown::Running;
        stage.log = Some(session.store.log_file(&run.run_id, name));
        stage.metrics = Some(live::metrics_file(&session.store, &run.run_id, name));
        stage.pictures_in = live_stage
            .key
            .as_ref()
            .map(|key| session.store.staging(key));
        stage.running = Some((run.run_id.to_string(), live_stage.clone()));
    }
}

/// A stage before its status is known: stale, with no key.
fn bare_stage(plan: &Plan, index: usize) -> StageView {
    let stage = &plan.stages[index];
    let mut view = StageView::new(&stage.name, stage.kind, plan.graph.upstream(index));
    view.desc = stage.desc.clone();
    view
}

/// The colour of a stage that is not running now.
fn shown(status: &StageStatus, last: Option<&LedgerEntry>) -> Shown {
    let last = last.map(|entry| entry.outcome);
    match status {
        StageStatus::UpToDate { .. } if last == Some(Outcome::Hit) => Shown::Cached,
        StageStatus::UpToDate { .. } => Shown::UpToDate,
        _ if matches!(last, Some(Outcome::Failed | Outcome::Cancelled)) => Shown::Failed,
        _ => Shown::Stale,
    }
}
