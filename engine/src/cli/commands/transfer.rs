//! `pipeline cache push|pull MANIFEST [STAGE...]`: explicit transfers between the local cache and
//! `[pipeline] remote` (a run does both on its own; these fill one tier from the other without
//! running anything). A stage name selects it and what it depends on.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use pipeline_api::CancelToken;

use super::{CliError, Session, exit};
use crate::cache::status::{self, StageStatus};
use crate::cache::store::Store;
use crate::registry::Registry;
use crate::run::progress::Reporter;

/// Opens the manifest's cache with its remote behind it.
fn open(
    manifest: &Path,
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<Session, CliError> {
    let mut session = Session::open(manifest, cache_flag, registry)?;
    if !session.use_remote()? {
        return Err(CliError::Usage(format!(
            "{} sets no remote: add `remote = \"s3://bucket/prefix\"` under [pipeline]",
            manifest.display()
        )));
    }
    let tiered = session.tiered.as_ref().expect("a remote was just set");
    tiered.watch(Arc::new(Reporter::detect(false)));
    Ok(session)
}

/// Uploads the local results of the selected stages the remote lacks.
pub fn push(
    manifest: &Path,
    stages: &[String],
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<ExitCode, CliError> {
    let session = open(manifest, cache_flag, registry)?;
    let selected = session.selection(stages)?;
    let tiered = session.tiered.as_ref().expect("opened with a remote");
    // Keyed against the local cache alone: only what is here can be pushed.
    let mut local = session.run_context(CancelToken::new());
    local.store = &session.store;
    let report = status::compute(&local, &selected, &BTreeSet::new());
    let (mut pushed, mut present, mut missing, mut failed) = (0, 0, 0, 0);
    for (index, stage_status, _) in &report.stages {
        let name = &session.plan.stages[*index].name;
        let StageStatus::UpToDate { key, .. } = stage_status else {
            missing += 1;
            continue;
        };
        let record = session
            .store
            .lookup(key)
            .expect("an up-to-date stage has a record");
        match tiered.push(&record) {
            Ok(true) => pushed += 1,
            Ok(false) => present += 1,
            Err(error) => {
                failed += 1;
                eprintln!("FAILED  {name}: {error}");
            }
        }
    }
    session.save_stat_cache();
    eprintln!(
        "{pushed} pushed, {present} already on the remote, {missing} not computed here, {failed} failed"
    );
    Ok(if failed > 0 {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Downloads (and verifies) the remote results of the selected stages the local cache lacks.
pub fn pull(
    manifest: &Path,
    stages: &[String],
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<ExitCode, CliError> {
    let session = open(manifest, cache_flag, registry)?;
    let selected = session.selection(stages)?;
    let context = session.run_context(CancelToken::new());
    let report = status::compute(&context, &selected, &BTreeSet::new());
    let (mut here, mut missing) = (0, 0);
    for (index, stage_status, job) in &report.stages {
        match (stage_status, job) {
            (StageStatus::UpToDate { .. }, Some(_)) => here += 1,
            _ => {
                missing += 1;
                eprintln!(
                    "missing {}: {}",
                    session.plan.stages[*index].name,
                    stage_status.describe()
                );
            }
        }
    }
    session.save_stat_cache();
    eprintln!("{here} stages have their results here, {missing} are on neither cache");
    Ok(ExitCode::SUCCESS)
}
