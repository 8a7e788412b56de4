//! One stage from key to cached result: hash its inputs, compute its key, and on a miss run it in
//! a private staging folder, check what it wrote, and commit the output to the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pipeline_api::{CancelToken, StageContext, StageError};

use crate::cache::hashing::{ContentHasher, Snapshot};
use crate::cache::ids::{Digest, RunId, StageKey};
use crate::cache::key::{KEY_SCHEMA, KeyManifest};
use crate::cache::ledger::now_unix;
use crate::cache::store::{self, LocalStore, RunRecord, Store};
use crate::plan::{InputSource, Plan, PlannedStage};
use crate::run::output_check;
use crate::run::progress::StageProgress;

/// What every job of one invocation (one `run`, `status`, `explain` or `cache gc`) shares: the
/// plan, where results are kept, the local cache folder, the hasher and this invocation's run id.
pub struct RunContext<'a> {
    pub plan: &'a Plan,
    /// Run records and outputs: every lookup and commit of a result goes through the trait.
    pub store: &'a dyn Store,
    /// The local cache folder: key locks, staging folders, logs, the run history and the last
    /// run of each stage.
    pub cache: &'a LocalStore,
    pub hasher: ContentHasher<'a>,
    /// Names this manifest within the cache (for "what changed since the last run").
    pub pipeline_id: String,
    pub run_id: RunId,
    pub cancel: CancelToken,
}

/// Why a job did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Stage(#[from] StageError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl JobError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> JobError {
        let context = context.into();
        move |source| JobError::Io { context, source }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, JobError::Stage(StageError::Cancelled))
    }
}

/// A stage with its inputs hashed and its key known: ready to be looked up in the cache or run.
pub struct KeyedJob {
    pub index: usize,
    pub manifest: KeyManifest,
    pub key: StageKey,
    pub sources: BTreeMap<String, Vec<String>>,
    pub input_paths: BTreeMap<String, Vec<PathBuf>>,
    /// Run even if the key is cached (`--force`, `always_run`).
    pub force: bool,
    /// The other stages' outputs this stage reads: (stage index, output digest), once each.
    pub upstream: Vec<(usize, Digest)>,
    snapshots: Vec<(PathBuf, Snapshot)>,
}

/// The output digests of finished stages, by stage index (`None`: not finished).
pub trait Upstream {
    fn digest(&self, stage: usize) -> Option<&Digest>;
}

impl Upstream for [Option<Digest>] {
    fn digest(&self, stage: usize) -> Option<&Digest> {
        self.get(stage)?.as_ref()
    }
}

impl Upstream for Vec<Option<Digest>> {
    fn digest(&self, stage: usize) -> Option<&Digest> {
        self.as_slice().digest(stage)
    }
}

/// The CPUs and GPUs a running stage may use.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub cpus: usize,
    pub gpus: Vec<u32>,
}

impl RunContext<'_> {
    /// Hashes the inputs of stage `index` and computes its key. `upstream[i]` is the output
    /// digest of stage `i`, known for every stage `index` reads from.
    pub fn key_stage<U: Upstream + ?Sized>(
        &self,
        index: usize,
        upstream: &U,
    ) -> Result<KeyedJob, JobError> {
        let stage = &self.plan.stages[index];
        let mut inputs = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let mut input_paths = BTreeMap::new();
        let mut snapshots = Vec::new();
        let mut objects = Vec::new();
        for (name, bound) in &stage.inputs {
            let (mut digests, mut shown, mut paths) = (Vec::new(), Vec::new(), Vec::new());
            for source in bound {
                if let InputSource::Output { stage, .. } = source {
                    let digest = upstream
                        .digest(*stage)
                        .expect("upstream stages finish first");
                    objects.push((*stage, digest.clone()));
                }
                let (path, digest) = self.input(source, upstream, &mut snapshots)?;
                digests.push(digest);
                shown.push(self.describe(source));
                paths.push(path);
            }
            inputs.insert(name.clone(), digests);
            sources.insert(name.clone(), shown);
            input_paths.insert(name.clone(), paths);
        }
        let manifest = KeyManifest {
            schema: KEY_SCHEMA.to_string(),
            kind: stage.kind.to_string(),
            version: stage.version.to_string(),
            params: stage.configured.canonical_params(),
            inputs,
        };
        let key = manifest.key();
        let force = stage.always_run;
        objects.sort();
        objects.dedup();
        Ok(KeyedJob {
            index,
            manifest,
            key,
            sources,
            input_paths,
            force,
            upstream: objects,
            snapshots,
        })
    }

    fn input<U: Upstream + ?Sized>(
        &self,
        source: &InputSource,
        upstream: &U,
        snapshots: &mut Vec<(PathBuf, Snapshot)>,
    ) -> Result<(PathBuf, Digest), JobError> {
        match source {
            InputSource::Path { path, shown } => {
                let snapshot = self
                    .hasher
                    .snapshot(path)
                    .map_err(JobError::io(format!("hashing input `{shown}`")))?;
                let digest = Digest::from(snapshot.digest);
                snapshots.push((path.clone(), snapshot));
                Ok((path.clone(), digest))
            }
            InputSource::Output { stage, subpath } => {
                let digest = upstream
                    .digest(*stage)
                    .expect("upstream stages finish first")
                    .clone();
                let root = self.store.output_path(&digest);
                if subpath.is_empty() {
                    return Ok((root, digest));
                }
                let path = root.join(subpath);
                let name = &self.plan.stages[*stage].name;
                let snapshot = self.hasher.snapshot(&path).map_err(|_| {
                    JobError::Invalid(format!(
                        "stage `{name}` did not write `{subpath}`, which this stage reads"
                    ))
                })?;
                Ok((path, Digest::from(snapshot.digest)))
            }
        }
    }

    /// An input as the manifest wrote it.
    pub fn describe(&self, source: &InputSource) -> String {
        match source {
            InputSource::Path { shown, .. } => shown.clone(),
            InputSource::Output { stage, subpath } if subpath.is_empty() => {
                format!("@{}", self.plan.stages[*stage].name)
            }
            InputSource::Output { stage, subpath } => {
                format!("@{}/{subpath}", self.plan.stages[*stage].name)
            }
        }
    }

    /// Runs a keyed job under its key's lock and commits the result. Returns the record and
    /// whether it was really run (false when another process finished it meanwhile).
    pub fn execute(
        &self,
        job: &KeyedJob,
        grant: &Grant,
        progress: &StageProgress,
        on_wait: &mut dyn FnMut(Option<u32>),
    ) -> Result<(RunRecord, bool), JobError> {
        let stage = &self.plan.stages[job.index];
        let _lock = self
            .cache
            .lock(&job.key, on_wait)
            .map_err(JobError::io("taking the stage lock"))?;
        if !job.force
            && let Some(record) = self.lookup(&job.key)
        {
            return Ok((record, false));
        }
        let attempt = self.attempt_folder(stage, &job.key)?;
        let out_dir = attempt.join("out");
        std::fs::create_dir_all(&out_dir).map_err(JobError::io("creating the staging folder"))?;
        let started = Instant::now();
        let guard = self.guard_inputs(job);
        let ran = self.run_plugin(stage, job, &out_dir, grant, progress);
        self.check_guard(&stage.name, guard)?;
        ran?;
        self.check_inputs(job)?;
        output_check::check_outputs(&stage.configured.outputs(), &out_dir)?;
        let record = self.commit(stage, job, &out_dir, started)?;
        store::remove_tree(&attempt).map_err(JobError::io("removing the staging folder"))?;
        // Empty now unless a late writer of a killed run still holds an earlier attempt.
        let _ = std::fs::remove_dir(self.cache.staging(&job.key));
        Ok((record, true))
    }

    /// Where this attempt at `key` runs. A resumable stage always gets `staging/<key>/` (marked
    /// `.resumable`, so it is kept for the next attempt to resume from); any other a fresh
    /// `staging/<key>/attempt-<pid>-<time>/`, after earlier attempts are cleared as far as possible: a
    /// program left over from a killed run may still write into its own attempt's folder, never
    /// into this one.
    fn attempt_folder(&self, stage: &PlannedStage, key: &StageKey) -> Result<PathBuf, JobError> {
        let staging = self.cache.staging(key);
        if stage.configured.resumable() {
            std::fs::create_dir_all(&staging)
                .map_err(JobError::io("creating the staging folder"))?;
            std::fs::write(staging.join(store::RESUMABLE_MARKER), b"")
                .map_err(JobError::io("marking the staging folder resumable"))?;
            return Ok(staging);
        }
        if let Err(error) = store::remove_tree(&staging) {
            tracing::debug!("an earlier attempt's staging folder is still being written: {error}");
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(staging.join(format!("attempt-{}-{nanos}", std::process::id())))
    }

    fn run_plugin(
        &self,
        stage: &PlannedStage,
        job: &KeyedJob,
        out_dir: &Path,
        grant: &Grant,
        progress: &StageProgress,
    ) -> Result<(), JobError> {
        let log_path = self.cache.log_file(&self.run_id, &stage.name);
        std::fs::create_dir_all(log_path.parent().expect("logs live in a folder"))
            .map_err(JobError::io("creating the log folder"))?;
        let mut log = std::fs::File::create(&log_path)
            .map_err(JobError::io(format!("creating {}", log_path.display())))?;
        let mut ctx = StageContext {
            stage: &stage.name,
            root: &self.plan.root,
            inputs: &job.input_paths,
            out_dir,
            gpus: &grant.gpus,
            cpus: grant.cpus,
            progress,
            cancel: &self.cancel,
            log: &mut log,
        };
        stage.configured.run(&mut ctx)?;
        Ok(())
    }

    /// Refuses to cache a result whose inputs changed while it was being computed.
    fn check_inputs(&self, job: &KeyedJob) -> Result<(), JobError> {
        for (path, before) in &job.snapshots {
            let unchanged = self
                .hasher
                .unchanged(path, before)
                .map_err(JobError::io(format!(
                    "re-checking input {}",
                    path.display()
                )))?;
            if !unchanged {
                return Err(JobError::Invalid(format!(
                    "input `{}` changed while the stage ran; the result was not cached. Run again once it is stable",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    fn commit(
        &self,
        stage: &PlannedStage,
        job: &KeyedJob,
        out_dir: &Path,
        started: Instant,
    ) -> Result<RunRecord, JobError> {
        store::make_read_only(out_dir).map_err(JobError::io("protecting the output"))?;
        let snapshot = self
            .hasher
            .snapshot(out_dir)
            .map_err(JobError::io("hashing the output"))?;
        let digest = Digest::from(snapshot.digest);
        let stored = self
            .store
            .put_output(out_dir, &digest)
            .map_err(JobError::io("storing the output"))?;
        self.hasher.stat_cache().moved(out_dir, &stored);
        let record = RunRecord {
            key: job.key.clone(),
            stage: stage.name.clone(),
            manifest: job.manifest.clone(),
            sources: job.sources.clone(),
            output: digest,
            output_bytes: snapshot.bytes,
            duration_s: started.elapsed().as_secs_f64(),
            finished_unix: now_unix(),
            run_id: self.run_id.clone(),
        };
        self.store
            .put_record(&record)
            .map_err(JobError::io("writing the run record"))?;
        Ok(record)
    }
}
