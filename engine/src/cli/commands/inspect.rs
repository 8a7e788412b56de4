//! Read-only commands: `status`, `dag`, `explain`, `stages`, `log`, `hash`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use pipeline_api::CancelToken;

use super::{CliError, Session, cache_dir_for, exit, params_doc};
use crate::cache::hashing::{ContentHasher, print_digest};
use crate::cache::ids::StageKey;
use crate::cache::stat_cache::StatCache;
use crate::cache::store::LocalStore;
use crate::cli::args::{
    DagArgs, DagFormat, ExplainArgs, HashArgs, LogArgs, StagesArgs, StatusArgs,
};
use crate::plan::Plan;
use crate::plan::schema::ParamSchema;
use crate::registry::Registry;
use crate::run::slurm;
use crate::{cache::ledger, cache::status};

pub fn status(
    args: &StatusArgs,
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<ExitCode, CliError> {
    let session = Session::open(&args.manifest, cache_flag, registry)?;
    let selected = session.selection(&args.targets)?;
    let context = session.run_context(CancelToken::new());
    let report = status::compute(&context, &selected, &BTreeSet::new());
    session.save_stat_cache();
    let stale = report
        .stages
        .iter()
        .filter(|(_, s, _)| !s.is_up_to_date())
        .count();
    // A stale stage may be computed by a Slurm job right now (of this run or another).
    let stale_keys: Vec<Option<&StageKey>> = report
        .stages
        .iter()
        .map(|(_, stage_status, job)| match (stage_status, job) {
            (status::StageStatus::Stale { .. }, Some(job)) => Some(&job.key),
            _ => None,
        })
        .collect();
    let jobs = slurm::active_jobs(&session.store, &stale_keys);
    if args.json {
        let stages: Vec<serde_json::Value> = report.stages.iter().zip(&jobs).map(|((index, stage_status, _), job)| {
            serde_json::json!({ "stage": session.plan.stages[*index].name, "status": stage_status, "slurm_job": job })
        }).collect();
        println!("{}", serde_json::json!({ "stages": stages }));
    } else {
        let width = report
            .stages
            .iter()
            .map(|(i, _, _)| session.plan.stages[*i].name.len())
            .max()
            .unwrap_or(0);
        for ((index, stage_status, _), job) in report.stages.iter().zip(&jobs) {
            let job = job
                .as_ref()
                .map(|job| format!(" ({job})"))
                .unwrap_or_default();
            println!(
                "{:width$}  {}{job}",
                session.plan.stages[*index].name,
                stage_status.describe()
            );
        }
    }
    Ok(if args.check && stale > 0 {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn dag(args: &DagArgs, registry: &Registry) -> Result<ExitCode, CliError> {
    let plan = Plan::load(&args.manifest, registry)?;
    let names: Vec<&str> = plan.stages.iter().map(|s| s.name.as_str()).collect();
    let text = match args.format {
        DagFormat::Text => plan.graph.to_text(&names),
        DagFormat::Dot => plan.graph.to_dot(&names),
        DagFormat::Mermaid => plan.graph.to_mermaid(&names),
        DagFormat::Json => {
            let nodes: Vec<serde_json::Value> = plan.stages.iter().enumerate().map(|(i, s)| serde_json::json!({
                "name": s.name, "kind": s.kind, "upstream": plan.graph.upstream(i).iter().map(|&u| &names[u]).collect::<Vec<_>>(),
            })).collect();
            format!("{}\n", serde_json::json!({ "stages": nodes }))
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

pub fn explain(
    args: &ExplainArgs,
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<ExitCode, CliError> {
    let session = Session::open(&args.manifest, cache_flag, registry)?;
    let index = session.plan.index_of(&args.stage).ok_or_else(|| {
        CliError::Usage(format!(
            "no stage instance `{}` (see `pipeline dag {}`)",
            args.stage,
            args.manifest.display()
        ))
    })?;
    let selected = session.plan.graph.with_ancestors(&[index]);
    let context = session.run_context(CancelToken::new());
    let report = status::compute(&context, &selected, &BTreeSet::new());
    session.save_stat_cache();
    let (_, stage_status, job) = report
        .stages
        .into_iter()
        .find(|(i, _, _)| *i == index)
        .expect("the stage was selected");
    let stage = &session.plan.stages[index];
    let value = serde_json::json!({
        "stage": stage.name,
        "desc": stage.desc,
        "key": job.as_ref().map(|job| &job.key),
        "manifest": job.as_ref().map(|job| &job.manifest),
        "sources": job.as_ref().map(|job| &job.sources),
        "status": stage_status,
        "outputs": stage.configured.outputs(),
        "resources": { "cpus": stage.resources.cpus, "gpu": stage.resources.gpus },
    });
    if args.json {
        println!("{value}");
    } else {
        println!("stage:  {}", stage.name);
        if let Some(desc) = &stage.desc {
            println!("desc:   {desc}");
        }
        println!("status: {}", stage_status.describe());
        match &job {
            Some(job) => {
                println!("key:    {}", job.key);
                println!("key manifest (BLAKE3 of its canonical JSON):");
                println!(
                    "{}",
                    serde_json::to_string_pretty(&job.manifest).unwrap_or_default()
                );
                println!("inputs as written:");
                for (name, shown) in &job.sources {
                    println!("  {name} = {}", shown.join(", "));
                }
            }
            None => println!("key:    unknown until the stages it waits on have run"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stages(args: &StagesArgs, registry: &Registry) -> Result<ExitCode, CliError> {
    if let Some(kind) = &args.kind
        && registry.get(kind).is_none()
    {
        return Err(CliError::Usage(format!(
            "no stage kind `{kind}`; kinds: {}",
            registry.kinds().collect::<Vec<_>>().join(", ")
        )));
    }
    let selected: Vec<_> = registry
        .iter()
        .filter(|s| args.kind.as_deref().is_none_or(|k| k == s.kind()))
        .collect();
    if args.json {
        let list: Vec<serde_json::Value> = selected.iter().map(|s| serde_json::json!({
            "kind": s.kind(), "version": s.version(), "doc": s.doc(), "params": s.params_schema(),
        })).collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    for stage in selected {
        println!(
            "{} (version {})\n  {}",
            stage.kind(),
            stage.version(),
            stage.doc()
        );
        print!(
            "{}",
            params_doc::render(&ParamSchema::new(stage.params_schema()), 4)
        );
        println!("    engine keys: {}\n", crate::plan::ENGINE_KEYS.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn log(
    args: &LogArgs,
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<ExitCode, CliError> {
    let cache = cache_dir_for(args.manifest.as_deref(), cache_flag, registry)?;
    let store = LocalStore::open(&cache).map_err(CliError::io("opening the cache"))?;
    let mut entries = ledger::read(&store.ledger_file());
    if let Some(manifest) = &args.manifest {
        let plan = Plan::load(manifest, registry)?;
        let id = super::pipeline_id(manifest, &plan.root);
        entries.retain(|e| e.pipeline == id);
    }
    let skip = entries.len().saturating_sub(args.limit);
    let entries = &entries[skip..];
    if args.json {
        println!("{}", serde_json::to_string(entries).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<18} {:<28} {:<9} {:>9}  key",
        "run", "stage", "outcome", "seconds"
    );
    for entry in entries {
        let key = entry.key.as_ref().map_or("-", StageKey::short);
        println!(
            "{:<18} {:<28} {:<9} {:>9.2}  {key}",
            entry.run_id,
            entry.stage,
            entry.outcome.word(),
            entry.duration_s
        );
        // Why a stage failed, and where its log (which ends with the same words) is.
        if let Some(error) = &entry.error {
            let mut lines = error.lines();
            println!("    error: {}", lines.next().unwrap_or_default());
            for line in lines {
                println!("           {line}");
            }
            if let Some(log) = &entry.log {
                println!("    log:   {log}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn hash(args: &HashArgs, cache_flag: Option<&Path>) -> Result<ExitCode, CliError> {
    let stat_cache = match (args.no_stat_cache, cache_flag) {
        (false, Some(cache)) => {
            let store = LocalStore::open(cache).map_err(CliError::io("opening the cache"))?;
            StatCache::load(store.stat_file(), vec![store.objects_dir()])
        }
        _ => StatCache::in_memory(),
    };
    let hasher = ContentHasher::new(&stat_cache);
    let mut out = std::io::stdout().lock();
    for path in &args.paths {
        let started = std::time::Instant::now();
        let snapshot = hasher.snapshot(path).map_err(CliError::io("hashing"))?;
        print_digest(&mut out, &snapshot, &path.display().to_string())
            .map_err(CliError::io("writing"))?;
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            "{} files, {} bytes in {seconds:.3}s ({:.0} MB/s)",
            snapshot.files.len(),
            snapshot.bytes,
            snapshot.bytes as f64 / seconds.max(1e-9) / 1e6
        );
    }
    stat_cache
        .save()
        .map_err(CliError::io("saving the stat snapshot"))?;
    Ok(ExitCode::SUCCESS)
}
