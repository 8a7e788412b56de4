//! Stages as Slurm jobs (`pipeline run --executor slurm`, or `[pipeline] executor = "slurm"`).
//!
//! A keyed stage that missed the cache becomes one `sbatch` job running this same binary on that
//! one stage (`pipeline run MANIFEST --target STAGE`) against the same cache folder, which must be
//! on a filesystem every node sees. Its upstream outputs are committed before it is submitted, so
//! in the job they are cache hits and only the stage itself runs; the job takes the key's lock and
//! commits the result as a local run would, so nothing half-written is ever taken as a result.
//!
//! The job script first reads back a probe file the submitter wrote into the cache folder (a node
//! that does not see the folder fails at once, saying so), then writes the run's exit status into
//! the job's folder `v1/slurm/<key>/`, next to its log. The submitter follows the job with
//! `squeue` (no accounting needed), and on Ctrl-C cancels it with `scancel`; a later run finds
//! the stages that were committed as hits. Resources map to `--cpus-per-task` and
//! `--gres=gpu:N` (Slurm sets `CUDA_VISIBLE_DEVICES` in the job, which the job's run hands to
//! its stage); `slurm = { partition, time, mem, extra }` of the stage adds the rest.

mod cluster;
mod watcher;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipeline_api::{Progress, StageError};

use crate::cache::ids::StageKey;
use crate::cache::store::{LocalStore, RunRecord};
use crate::plan::PlannedStage;
use crate::run::executor::Executor;
use crate::run::job::{Grant, JobError, KeyedJob, RunContext};
use crate::run::progress::{Reporter, StageProgress};
use cluster::JobState;
use watcher::Watcher;

/// The job's exit status, written by its script.
const STATUS_FILE: &str = "status";
/// The job's output (stdout and stderr).
const LOG_FILE: &str = "job.log";
/// Exit status of a job that cannot see the cache folder.
const NOT_SHARED: i32 = 97;

/// Submits each stage to Slurm and follows it to its end.
pub struct SlurmExecutor {
    /// This binary, which each job runs.
    program: PathBuf,
    /// The manifest, absolute.
    manifest: PathBuf,
    /// The cache folder (the one `--cache-dir` names), absolute.
    cache_dir: PathBuf,
    /// The jobs in flight, asked about together.
    watcher: Watcher,
}

impl Executor for SlurmExecutor {
    fn execute(
        &self,
        context: &RunContext<'_>,
        job: &KeyedJob,
        _grant: &Grant,
        progress: &StageProgress,
        reporter: &Reporter,
    ) -> Result<(RunRecord, bool), JobError> {
        let stage = &context.plan.stages[job.index];
        let folder = context.cache.base().join("slurm").join(job.key.as_str());
        let script = self.prepare(stage, &folder)?;
        let id = cluster::submit(&self.sbatch_args(stage, &folder), &script)
            .map_err(|e| JobError::Invalid(format!("submitting `{}`: {e}", stage.name)))?;
        std::fs::write(folder.join("job_id"), format!("{id}\n"))
            .map_err(JobError::io("recording the job id"))?;
        reporter.line(&format!("queued  {} as Slurm job {id}", stage.name));
        self.watcher.follow(&id);
        let ended = self.follow(context, &id, progress);
        self.watcher.forget(&id);
        let ended = ended?;
        let status = std::fs::read_to_string(folder.join(STATUS_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        match status {
            Some(0) => context
                .lookup(&job.key)
                .map(|record| (record, true))
                .ok_or_else(|| {
                    JobError::Invalid(format!(
                        "Slurm job {id} succeeded but the cache holds no result for key {}: was \
                         the manifest or an input edited while the job was queued?",
                        job.key.short()
                    ))
                }),
            Some(code) => Err(JobError::Invalid(format!(
                "Slurm job {id} ({ended}) exited with status {code}{}",
                log_tail(&folder)
            ))),
            None => Err(JobError::Invalid(self.no_status(&id, &ended, &folder))),
        }
    }
}

impl SlurmExecutor {
    /// Why job `id`, which ended (`ended`) without writing its status, failed. A node that does
    /// not see the cache folder writes nothing there: neither the status, nor the log (Slurm
    /// cannot open it, and the job fails to launch), nor anything after the probe check (its
    /// exit status, [`NOT_SHARED`], comes from `scontrol`).
    fn no_status(&self, id: &str, ended: &str, folder: &Path) -> String {
        let ending = cluster::ending(id).unwrap_or_default();
        let node = if ending.node.is_empty() {
            String::new()
        } else {
            format!(" on node {}", ending.node)
        };
        let log_written = folder.join(LOG_FILE).exists();
        if ending.exit_code == Some(NOT_SHARED) || (!log_written && ended == "FAILED") {
            return format!(
                "Slurm job {id} ({ended}{}){node} wrote neither its log nor its status into the \
                 cache folder {}: that node does not see it. Put the cache on a filesystem every \
                 node mounts at the same path (`--cache-dir`)",
                if ending.reason.is_empty() || ending.reason == "None" {
                    String::new()
                } else {
                    format!(", {}", ending.reason)
                },
                self.cache_dir.display()
            );
        }
        format!(
            "Slurm job {id} ({ended}){node} ended without writing its status: it was cancelled, \
             ran out of time or memory, or its node failed{}",
            log_tail(folder)
        )
    }

    /// Jobs run `program` on `manifest` with `cache_dir`; `squeue` is asked every `poll`.
    pub fn new(program: PathBuf, manifest: PathBuf, cache_dir: PathBuf, poll: Duration) -> Self {
        Self {
            program,
            manifest,
            cache_dir,
            watcher: Watcher::new(poll),
        }
    }

    /// Writes the job's folder: a fresh probe, no old status, and the script. Returns the script.
    fn prepare(&self, stage: &PlannedStage, folder: &Path) -> Result<PathBuf, JobError> {
        std::fs::create_dir_all(folder).map_err(JobError::io("creating the job folder"))?;
        for old in [STATUS_FILE, LOG_FILE] {
            let _ = std::fs::remove_file(folder.join(old));
        }
        let token = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let probe = folder.join("probe");
        std::fs::write(&probe, &token).map_err(JobError::io("writing the cache probe"))?;
        let status = folder.join(STATUS_FILE);
        let run = [
            self.program.as_os_str(),
            "--cache-dir".as_ref(),
            self.cache_dir.as_os_str(),
            "run".as_ref(),
            self.manifest.as_os_str(),
            "--target".as_ref(),
            stage.name.as_ref(),
            "--jobs".as_ref(),
            "1".as_ref(),
            // In the job the stage runs here, whatever the manifest's executor.
            "--executor".as_ref(),
            "local".as_ref(),
        ]
        .map(|arg| quote(&arg.to_string_lossy()))
        .join(" ");
        let text = format!(
            "#!/bin/sh\n\
             # Stage `{name}`, submitted by pipeline.\n\
             if [ \"$(cat {probe} 2>/dev/null)\" != {token} ]; then\n  \
               echo \"this node ($(hostname)) does not see the cache folder {cache}\" >&2\n  \
               exit {NOT_SHARED}\n\
             fi\n\
             {run}\n\
             code=$?\n\
             echo $code > {status}.tmp && mv {status}.tmp {status}\n\
             exit $code\n",
            name = stage.name,
            probe = quote(&probe.to_string_lossy()),
            token = quote(&token),
            cache = quote(&self.cache_dir.to_string_lossy()),
            status = quote(&status.to_string_lossy()),
        );
        let script = folder.join("job.sh");
        std::fs::write(&script, text).map_err(JobError::io("writing the job script"))?;
        Ok(script)
    }

    fn sbatch_args(&self, stage: &PlannedStage, folder: &Path) -> Vec<String> {
        let mut args = vec![
            format!("--job-name=pipeline:{}", stage.name),
            format!("--output={}", folder.join(LOG_FILE).display()),
            format!("--cpus-per-task={}", stage.resources.cpus.max(1)),
        ];
        if stage.resources.gpus > 0 {
            args.push(format!("--gres=gpu:{}", stage.resources.gpus));
        }
        let slurm = &stage.slurm;
        let named = [
            ("partition", &slurm.partition),
            ("time", &slurm.time),
            ("mem", &slurm.mem),
        ];
        for (flag, value) in named {
            if let Some(value) = value {
                args.push(format!("--{flag}={value}"));
            }
        }
        args.extend(slurm.extra.iter().cloned());
        args
    }

    /// Waits for job `id` to end (its last state), cancelling it if the run is cancelled.
    fn follow(
        &self,
        context: &RunContext<'_>,
        id: &str,
        progress: &StageProgress,
    ) -> Result<String, JobError> {
        let mut shown = None;
        loop {
            if context.cancel.is_cancelled() {
                cluster::cancel(id);
                return Err(JobError::Stage(StageError::Cancelled));
            }
            let state = self.watcher.state(id).map_err(JobError::Invalid)?;
            let text = match &state {
                JobState::Pending(reason) => format!("Slurm job {id} pending ({reason})"),
                JobState::Running => format!("Slurm job {id} running"),
                JobState::Ended(state) => return Ok(state.clone()),
                JobState::Gone => return Ok("no longer listed".to_string()),
            };
            if shown.as_ref() != Some(&text) {
                progress.message(&text);
                shown = Some(text);
            }
            std::thread::sleep(self.watcher.poll());
        }
    }
}

/// For each of `keys`, `Slurm job N pending (reason)` or `Slurm job N running` while a job
/// submitted for it (by any run on this cache) is queued or running; `None` otherwise, or when
/// Slurm cannot be asked. One `squeue` call for all of them, and none when no job was submitted.
pub fn active_jobs(cache: &LocalStore, keys: &[Option<&StageKey>]) -> Vec<Option<String>> {
    let ids: Vec<Option<String>> = keys
        .iter()
        .map(|key| {
            let id_file = cache
                .base()
                .join("slurm")
                .join((*key)?.as_str())
                .join("job_id");
            Some(std::fs::read_to_string(id_file).ok()?.trim().to_string())
        })
        .collect();
    let asked: Vec<String> = ids.iter().flatten().cloned().collect();
    let states = cluster::states(&asked).unwrap_or_default();
    ids.into_iter()
        .map(|id| match states.get(id.as_deref()?)? {
            JobState::Pending(reason) => Some(format!("Slurm job {} pending ({reason})", id?)),
            JobState::Running => Some(format!("Slurm job {} running", id?)),
            JobState::Ended(_) | JobState::Gone => None,
        })
        .collect()
}

/// The last lines of a job's log, to show with its failure.
fn log_tail(folder: &Path) -> String {
    let path = folder.join(LOG_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return String::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n        ");
    format!("\n        job log {}:\n        {tail}", path.display())
}

/// `text` as one single-quoted shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
