//! What each subcommand does, on top of the engine.

mod cache;
mod inspect;
mod params_doc;
mod run;
mod transfer;
mod ui;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use pipeline_api::CancelToken;

use crate::cache::hashing::ContentHasher;
use crate::cache::ids::RunId;
use crate::cache::remote::Remote;
use crate::cache::stat_cache::StatCache;
use crate::cache::store::LocalStore;
use crate::cache::tiered::TieredStore;
use crate::cli::args::{Cli, Command};
use crate::manifest::diagnostics::Diagnostics;
use crate::plan::Plan;
use crate::registry::Registry;
use crate::run::job::RunContext;

/// Exit codes (documented in `cli.rs` and the README).
pub mod exit {
    pub const FAILED: u8 = 1;
    pub const INVALID: u8 = 2;
    pub const ENGINE: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
}

/// An error that ends the command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Manifest(#[from] Diagnostics),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Engine(String),
}

impl CliError {
    pub fn code(&self) -> u8 {
        match self {
            CliError::Manifest(_) | CliError::Usage(_) => exit::INVALID,
            CliError::Engine(_) => exit::ENGINE,
        }
    }

    fn io(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> CliError {
        move |error| CliError::Engine(format!("{context}: {error}"))
    }
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli, registry: &Registry, cancel: CancelToken) -> Result<ExitCode, CliError> {
    let cache_flag = cli.cache_dir.as_deref();
    match cli.command {
        Command::Run(args) => run::run(&args, cache_flag, registry, cancel),
        Command::Status(args) => inspect::status(&args, cache_flag, registry),
        Command::Dag(args) => inspect::dag(&args, registry),
        Command::Explain(args) => inspect::explain(&args, cache_flag, registry),
        Command::Stages(args) => inspect::stages(&args, registry),
        Command::Log(args) => inspect::log(&args, cache_flag, registry),
        Command::Cache(command) => cache::cache(command, cache_flag, registry),
        Command::Hash(args) => inspect::hash(&args, cache_flag),
        Command::Ui(args) => ui::ui(&args, cache_flag, registry, &cancel),
    }
}

/// A loaded pipeline with its cache open.
pub struct Session {
    pub plan: Plan,
    pub store: LocalStore,
    /// The local store in front of `[pipeline] remote`, when a run uses it.
    pub tiered: Option<TieredStore>,
    /// Shared with the remote tier, which hashes what it pulls.
    pub stat_cache: Arc<StatCache>,
    pub pipeline_id: String,
}

impl Session {
    pub fn open(
        manifest: &Path,
        cache_flag: Option<&Path>,
        registry: &Registry,
    ) -> Result<Session, CliError> {
        Self::open_with(manifest, cache_flag, registry, |store| {
            Arc::new(StatCache::load(
                store.stat_file(),
                vec![store.objects_dir()],
            ))
        })
    }

    /// As [`Session::open`], with the stat snapshot `stat_cache` gives for the store (one kept in
    /// memory across sessions, say).
    pub fn open_with(
        manifest: &Path,
        cache_flag: Option<&Path>,
        registry: &Registry,
        stat_cache: impl FnOnce(&LocalStore) -> Arc<StatCache>,
    ) -> Result<Session, CliError> {
        let plan = Plan::load(manifest, registry)?;
        let cache_dir = cache_dir(cache_flag, plan.configured_cache.as_deref(), &plan.root);
        let store = LocalStore::open(&cache_dir).map_err(CliError::io(format!(
            "opening the cache {}",
            cache_dir.display()
        )))?;
        let stat_cache = stat_cache(&store);
        let pipeline_id = pipeline_id(manifest, &plan.root);
        Ok(Session {
            plan,
            store,
            tiered: None,
            stat_cache,
            pipeline_id,
        })
    }

    /// Puts `[pipeline] remote` behind the local cache for this invocation's lookups and
    /// commits. `Ok(false)`: the manifest sets no remote.
    pub fn use_remote(&mut self) -> Result<bool, CliError> {
        let Some(url) = &self.plan.configured_remote else {
            return Ok(false);
        };
        let remote = Remote::open(url).map_err(CliError::Usage)?;
        let local = self.store.clone();
        self.tiered = Some(TieredStore::new(
            local,
            remote,
            Arc::clone(&self.stat_cache),
        ));
        Ok(true)
    }

    /// What the jobs of this invocation share, with a new run id.
    pub fn run_context(&self, cancel: CancelToken) -> RunContext<'_> {
        RunContext {
            plan: &self.plan,
            store: match &self.tiered {
                Some(tiered) => tiered,
                None => &self.store,
            },
            cache: &self.store,
            hasher: ContentHasher::new(&self.stat_cache),
            pipeline_id: self.pipeline_id.clone(),
            run_id: run_id(),
            cancel,
        }
    }

    /// Stage indices named on the command line; a matrix stage's base name selects all instances.
    pub fn resolve_names(&self, names: &[String]) -> Result<BTreeSet<usize>, CliError> {
        let mut found = BTreeSet::new();
        for name in names {
            let base = |stage: &str| stage.split('[').next() == Some(name.as_str());
            let matches: Vec<usize> = (0..self.plan.stages.len())
                .filter(|&i| self.plan.stages[i].name == *name || base(&self.plan.stages[i].name))
                .collect();
            if matches.is_empty() {
                let names: Vec<&str> = self.plan.stages.iter().map(|s| s.name.as_str()).collect();
                let hint = crate::manifest::diagnostics::did_you_mean(name, names.iter().copied())
                    .map_or_else(
                        || format!("stages: {}", names.join(", ")),
                        |close| format!("did you mean `{close}`?"),
                    );
                return Err(CliError::Usage(format!(
                    "no stage `{name}` in {}; {hint}",
                    self.plan.source.path.display()
                )));
            }
            found.extend(matches);
        }
        Ok(found)
    }

    /// The stages `targets` name with everything they depend on; none named: empty (all).
    pub fn selection(&self, targets: &[String]) -> Result<BTreeSet<usize>, CliError> {
        let targets: Vec<usize> = self.resolve_names(targets)?.into_iter().collect();
        Ok(if targets.is_empty() {
            BTreeSet::new()
        } else {
            self.plan.graph.with_ancestors(&targets)
        })
    }

    pub fn save_stat_cache(&self) {
        if let Err(error) = self.stat_cache.save() {
            tracing::warn!("could not save the stat snapshot: {error}");
        }
    }
}

/// `--cache-dir` / `PIPELINE_CACHE_DIR`, else the manifest's `[pipeline] cache`, else `root/cache`.
pub fn cache_dir(flag: Option<&Path>, configured: Option<&Path>, root: &Path) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| configured.map(Path::to_path_buf))
        .unwrap_or_else(|| root.join("cache"))
}

/// Identifies a manifest inside the cache by its path relative to the project root.
fn pipeline_id(manifest: &Path, root: &Path) -> String {
    let absolute = crate::manifest::normalize(
        &std::path::absolute(manifest).unwrap_or_else(|_| manifest.to_path_buf()),
    );
    let relative = absolute
        .strip_prefix(root)
        .unwrap_or(&absolute)
        .to_string_lossy()
        .replace('\\', "/");
    let stem = absolute
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digest = blake3::hash(relative.as_bytes()).to_hex();
    format!("{stem}-{}", &digest[..12])
}

fn run_id() -> RunId {
    RunId::new(format!(
        "{}-{}",
        crate::cache::ledger::now_unix(),
        std::process::id()
    ))
}

/// Where a command without a manifest finds the cache.
pub fn cache_dir_for(
    manifest: Option<&Path>,
    flag: Option<&Path>,
    registry: &Registry,
) -> Result<PathBuf, CliError> {
    match manifest {
        Some(manifest) => {
            let plan = Plan::load(manifest, registry)?;
            Ok(cache_dir(
                flag,
                plan.configured_cache.as_deref(),
                &plan.root,
            ))
        }
        None => Ok(flag.map_or_else(|| PathBuf::from("cache"), Path::to_path_buf)),
    }
}
