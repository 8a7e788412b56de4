//! `pipeline cache du|gc|verify`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use pipeline_api::CancelToken;

use super::{CliError, Session, cache_dir_for, exit, transfer};
use crate::cache::hashing::ContentHasher;
use crate::cache::ids::Digest;
use crate::cache::stat_cache::StatCache;
use crate::cache::status;
use crate::cache::store::{LocalStore, Store, remove_tree};
use crate::cli::args::CacheCommand;
use crate::registry::Registry;
use crate::run::progress::human_bytes;

pub fn cache(
    command: CacheCommand,
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<ExitCode, CliError> {
    match command {
        CacheCommand::Du { manifest, json } => du(manifest.as_deref(), cache_flag, registry, json),
        CacheCommand::Gc { manifests, dry_run } => gc(&manifests, cache_flag, registry, dry_run),
        CacheCommand::Push { manifest, stages } => {
            transfer::push(&manifest, &stages, cache_flag, registry)
        }
        CacheCommand::Pull { manifest, stages } => {
            transfer::pull(&manifest, &stages, cache_flag, registry)
        }
        CacheCommand::Verify { manifest, repair } => {
            verify(manifest.as_deref(), cache_flag, registry, repair)
        }
    }
}

fn open(
    manifest: Option<&Path>,
    cache_flag: Option<&Path>,
    registry: &Registry,
) -> Result<LocalStore, CliError> {
    let dir = cache_dir_for(manifest, cache_flag, registry)?;
    LocalStore::open(&dir).map_err(CliError::io(format!("opening the cache {}", dir.display())))
}

fn du(
    manifest: Option<&Path>,
    cache_flag: Option<&Path>,
    registry: &Registry,
    json: bool,
) -> Result<ExitCode, CliError> {
    let store = open(manifest, cache_flag, registry)?;
    let outputs = store.outputs();
    let output_bytes: u64 = outputs.iter().map(|(_, path)| size_of(path)).sum();
    let records = store.records().len();
    let staging: u64 = store.staging_dirs().iter().map(|p| size_of(p)).sum();
    let logs = size_of(&store.base().join("logs"));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "path": store.base(), "outputs": outputs.len(), "output_bytes": output_bytes,
                "runs": records, "staging_bytes": staging, "log_bytes": logs,
            })
        );
    } else {
        println!("cache {}", store.base().display());
        println!(
            "  outputs  {:>6}  {}",
            outputs.len(),
            human_bytes(output_bytes)
        );
        println!("  runs     {records:>6}");
        println!("  staging          {}", human_bytes(staging));
        println!("  logs             {}", human_bytes(logs));
    }
    Ok(ExitCode::SUCCESS)
}

fn gc(
    manifests: &[std::path::PathBuf],
    cache_flag: Option<&Path>,
    registry: &Registry,
    dry_run: bool,
) -> Result<ExitCode, CliError> {
    let mut keep_keys = BTreeSet::new();
    let mut store_base = None;
    for manifest in manifests {
        let session = Session::open(manifest, cache_flag, registry)?;
        if store_base.get_or_insert_with(|| session.store.base().to_path_buf())
            != session.store.base()
        {
            return Err(CliError::Usage(
                "these manifests use different caches: collect each on its own".into(),
            ));
        }
        let context = session.run_context(CancelToken::new());
        for (index, _, job) in status::compute(&context, &BTreeSet::new(), &BTreeSet::new()).stages
        {
            keep_keys.extend(job.map(|job| job.key));
            if let Some(last) = session
                .store
                .last(&session.pipeline_id, &session.plan.stages[index].name)
            {
                keep_keys.insert(last.key);
            }
        }
        session.save_stat_cache();
    }
    let store = open(None, store_base.as_deref().and_then(Path::parent), registry)?;
    let mut keep_outputs = BTreeSet::new();
    let (mut records_removed, mut bytes_freed, mut outputs_removed) = (0, 0, 0);
    for (path, record) in store.records() {
        match record {
            Some(record) if keep_keys.contains(&record.key) => {
                keep_outputs.insert(record.output);
            }
            _ => {
                records_removed += 1;
                if !dry_run {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
    for (digest, path) in store.outputs() {
        if !keep_outputs.contains(&digest) {
            outputs_removed += 1;
            bytes_freed += size_of(&path);
            if !dry_run {
                remove_tree(&path).map_err(CliError::io(format!("removing {}", path.display())))?;
            }
        }
    }
    for (staging, _lock) in store.idle_staging(true) {
        bytes_freed += size_of(&staging);
        if !dry_run {
            remove_tree(&staging).map_err(CliError::io("removing a staging folder"))?;
        }
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "{verb} {records_removed} run records and {outputs_removed} outputs, {} freed; kept {} runs",
        human_bytes(bytes_freed),
        keep_outputs.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(
    manifest: Option<&Path>,
    cache_flag: Option<&Path>,
    registry: &Registry,
    repair: bool,
) -> Result<ExitCode, CliError> {
    let store = open(manifest, cache_flag, registry)?;
    let stat_cache = StatCache::in_memory();
    let hasher = ContentHasher::new(&stat_cache);
    let mut damaged = 0;
    let outputs = store.outputs();
    for (digest, path) in &outputs {
        let actual = hasher.snapshot(path).map(|s| Digest::from(s.digest));
        if actual.ok().as_ref() != Some(digest) {
            damaged += 1;
            println!("damaged: output {digest} ({})", path.display());
            if repair {
                store
                    .discard_output(digest)
                    .map_err(CliError::io("removing a damaged output"))?;
            }
        }
    }
    for (path, record) in store.records() {
        if record.is_none() {
            damaged += 1;
            println!("damaged: unreadable run record {}", path.display());
            if repair {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let records = store
        .records()
        .into_iter()
        .filter_map(|(_, r)| r)
        .filter(|r| store.lookup(&r.key).is_some())
        .count();
    println!(
        "verified {} outputs; {records} run records usable; {damaged} damaged{}",
        outputs.len(),
        if repair && damaged > 0 {
            " (removed: they will be recomputed)"
        } else {
            ""
        }
    );
    Ok(if damaged > 0 && !repair {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| size_of(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}
