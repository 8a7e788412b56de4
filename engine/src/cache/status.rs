//! Whether each stage is up to date, and why not: the field-by-field difference between what the
//! stage would be keyed on now and what it was keyed on when it last ran.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::cache::ids::{Digest, StageKey};
use crate::cache::key::explain_change;
use crate::run::job::{KeyedJob, RunContext};

/// The state of one stage.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StageStatus {
    /// Its key is in the run cache: nothing to run. `restored` when that result is not the last
    /// one this pipeline used (a reverted change); `publish` lists published paths to rewrite.
    UpToDate {
        key: StageKey,
        restored: bool,
        publish: Vec<String>,
    },
    /// It will run, for these reasons.
    Stale { key: StageKey, reasons: Vec<String> },
    /// Its key depends on stages that have yet to run.
    Waiting { upstream: Vec<String> },
    /// Its inputs could not be read.
    Error { message: String },
}

/// The status and key details of every selected stage, in run order.
pub struct Report {
    pub stages: Vec<(usize, StageStatus, Option<KeyedJob>)>,
}

/// Computes statuses without running anything. `forced` stages count as stale.
pub fn compute(
    context: &RunContext<'_>,
    selected: &BTreeSet<usize>,
    forced: &BTreeSet<usize>,
) -> Report {
    let plan = context.plan;
    let mut outputs: Vec<Option<Digest>> = vec![None; plan.stages.len()];
    let mut stages = Vec::new();
    for index in plan.graph.order() {
        if !selected.is_empty() && !selected.contains(&index) {
            continue;
        }
        let upstream = plan.graph.upstream(index);
        let blocked: Vec<String> = upstream
            .iter()
            .filter(|&&u| outputs[u].is_none())
            .map(|&u| plan.stages[u].name.clone())
            .collect();
        if !blocked.is_empty() {
            stages.push((index, StageStatus::Waiting { upstream: blocked }, None));
            continue;
        }
        let job = match context.key_stage(index, &outputs) {
            Ok(job) => job,
            Err(error) => {
                stages.push((
                    index,
                    StageStatus::Error {
                        message: error.to_string(),
                    },
                    None,
                ));
                continue;
            }
        };
        let status = stage_status(context, index, &job, forced.contains(&index));
        if let StageStatus::UpToDate { .. } = status {
            outputs[index] = context.store.lookup(&job.key).map(|r| r.output);
        }
        stages.push((index, status, Some(job)));
    }
    Report { stages }
}

fn stage_status(
    context: &RunContext<'_>,
    index: usize,
    job: &KeyedJob,
    forced: bool,
) -> StageStatus {
    let stage = &context.plan.stages[index];
    let key = job.key.clone();
    let last = context.cache.last(&context.pipeline_id, &stage.name);
    if forced || stage.always_run {
        let reason = if forced {
            "forced"
        } else {
            "always_run is set"
        };
        return StageStatus::Stale {
            key,
            reasons: vec![reason.to_string()],
        };
    }
    if let Some(record) = context.store.lookup(&key) {
        let restored = last.as_ref().is_some_and(|l| l.key != key);
        let publish = context.published_paths_current(index, &record);
        return StageStatus::UpToDate {
            key,
            restored,
            publish,
        };
    }
    let reasons = match last {
        None => vec!["never run".to_string()],
        Some(last) if last.key == key => vec![
            "its result is no longer in the cache (collected, or the run was interrupted)"
                .to_string(),
        ],
        Some(last) => {
            let reasons = explain_change(&last.manifest, &job.manifest, &job.sources);
            if reasons.is_empty() {
                vec!["key changed".to_string()]
            } else {
                reasons
            }
        }
    };
    StageStatus::Stale { key, reasons }
}

impl StageStatus {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            StageStatus::UpToDate {
                restored, publish, ..
            } => {
                let mut text = String::from("up to date");
                if *restored {
                    text.push_str(" (an earlier result, restored from the run cache)");
                }
                if !publish.is_empty() {
                    text.push_str(&format!("; will re-publish {}", publish.join(", ")));
                }
                text
            }
            StageStatus::Stale { reasons, .. } => format!("stale: {}", reasons.join("; ")),
            StageStatus::Waiting { upstream } => {
                format!("runs if the output of {} changes", upstream.join(", "))
            }
            StageStatus::Error { message } => format!("error: {message}"),
        }
    }

    pub fn is_up_to_date(&self) -> bool {
        matches!(self, StageStatus::UpToDate { .. })
    }
}
