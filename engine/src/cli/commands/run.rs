//! `pipeline run`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use pipeline_api::CancelToken;

use super::{CliError, Session, exit};
use crate::cache::ledger::Outcome;
use crate::cache::status;
use crate::cache::store::{LocalStore, remove_tree};
use crate::cli::args::{ExecutorKind, RunArgs};
use crate::registry::Registry;
use crate::run::executor::{self, Executor, LocalExecutor, RunOptions};
use crate::run::live::LiveBoard;
use crate::run::progress::Reporter;
use crate::run::resources::{Pool, detect_gpus};
use crate::run::slurm::SlurmExecutor;

pub fn run(
    args: &RunArgs,
    cache_flag: Option<&std::path::Path>,
    registry: &Registry,
    cancel: CancelToken,
) -> Result<ExitCode, CliError> {
    let mut session = Session::open(&args.manifest, cache_flag, registry)?;
    if !args.no_remote {
        session.use_remote()?;
    }
    let selected = session.selection(&args.targets)?;
    let forced = if args.force_all {
        (0..session.plan.stages.len()).collect()
    } else {
        session.resolve_names(&args.force)?
    };
    let context = session.run_context(cancel.clone());
    if args.dry_run {
        let report = status::compute(&context, &selected, &forced);
        for (index, stage_status, _) in &report.stages {
            let verb = match stage_status {
                status::StageStatus::UpToDate { .. } => "cached   ",
                status::StageStatus::Waiting { .. } => "may run  ",
                _ => "would run",
            };
            eprintln!(
                "{verb}  {}: {}",
                session.plan.stages[*index].name,
                stage_status.describe()
            );
        }
        session.save_stat_cache();
        return Ok(ExitCode::SUCCESS);
    }
    remove_stale_staging(&session.store);
    let (runner, pool, default_jobs) = match executor_kind(args, &session)? {
        ExecutorKind::Local => local_pool(args, &session),
        ExecutorKind::Slurm => slurm_executor(args, &session)?,
    };
    let options = RunOptions {
        jobs: args.jobs.unwrap_or(default_jobs),
        keep_going: args.keep_going,
        selected,
        forced,
    };
    let board = LiveBoard::open(&session.store, &context.run_id, &session.pipeline_id);
    let reporter = Arc::new(Reporter::detect(true).with_live(board));
    if let Some(tiered) = &session.tiered {
        tiered.watch(reporter.clone());
    }
    let summary = executor::run(&context, runner.as_ref(), &reporter, pool, &options);
    session.save_stat_cache();
    let (ran, hits, failed) = (
        summary.count(Outcome::Ran),
        summary.count(Outcome::Hit),
        summary.count(Outcome::Failed),
    );
    let (skipped, cancelled) = (
        summary.count(Outcome::Skipped),
        summary.count(Outcome::Cancelled),
    );
    eprintln!(
        "{} stages: {ran} ran, {hits} cached, {failed} failed, {skipped} skipped{}",
        summary.outcomes.len(),
        if cancelled > 0 {
            format!(", {cancelled} cancelled")
        } else {
            String::new()
        }
    );
    if args.json {
        let stages: Vec<serde_json::Value> = summary
            .outcomes
            .iter()
            .map(|(index, outcome)| {
                serde_json::json!({
                    "stage": session.plan.stages[*index].name,
                    "outcome": outcome,
                    "error": summary.errors.get(index),
                })
            })
            .collect();
        // A closed stdout (`| head -c1`) is no reason to fail a run whose work is done.
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            serde_json::json!({ "run_id": context.run_id, "stages": stages })
        );
    }
    Ok(if cancel.is_cancelled() {
        ExitCode::from(exit::INTERRUPTED)
    } else if failed > 0 || cancelled > 0 {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--executor`, else `[pipeline] executor`, else local.
fn executor_kind(args: &RunArgs, session: &Session) -> Result<ExecutorKind, CliError> {
    if let Some(kind) = args.executor {
        return Ok(kind);
    }
    Ok(match session.plan.configured_executor.as_deref() {
        Some("slurm") => ExecutorKind::Slurm,
        _ => ExecutorKind::Local,
    })
}

/// Stages in this process, on this machine's CPUs and GPUs; as many at once as there are CPUs.
fn local_pool(args: &RunArgs, session: &Session) -> (Box<dyn Executor>, Pool, usize) {
    let cpus = args
        .cpus
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let needs_gpus = session.plan.stages.iter().any(|s| s.resources.gpus > 0);
    let gpus = if needs_gpus || args.gpus.is_some() {
        detect_gpus(args.gpus.as_deref())
    } else {
        Vec::new()
    };
    (Box::new(LocalExecutor), Pool::new(cpus, gpus), cpus)
}

/// Stages as Slurm jobs: the cluster leases resources, and every stage whose inputs are ready is
/// submitted at once (up to `--jobs`, default 256).
fn slurm_executor(
    args: &RunArgs,
    session: &Session,
) -> Result<(Box<dyn Executor>, Pool, usize), CliError> {
    let program = std::env::current_exe().map_err(CliError::io("finding this program"))?;
    let manifest =
        std::path::absolute(&args.manifest).map_err(CliError::io("finding the manifest"))?;
    let base = session.store.base();
    let cache_dir = base.parent().unwrap_or(base).to_path_buf();
    let poll = std::time::Duration::from_millis(500);
    let executor = SlurmExecutor::new(program, manifest, cache_dir, poll);
    Ok((Box::new(executor), Pool::cluster(), 256))
}

/// Removes the staging folders that killed runs left (their lock is free); those of resumable
/// stages stay, to be resumed, until `pipeline cache gc`.
fn remove_stale_staging(store: &LocalStore) {
    let mut removed = 0;
    for (path, _lock) in store.idle_staging(false) {
        match remove_tree(&path) {
            Ok(()) => removed += 1,
            Err(error) => tracing::warn!(
                "could not remove the staging folder {}: {error}",
                path.display()
            ),
        }
    }
    if removed > 0 {
        eprintln!(
            "removed {removed} staging folder{} of interrupted runs",
            if removed == 1 { "" } else { "s" }
        );
    }
}
