//! The command line (clap). Exit codes: 0 success; 1 a stage failed (or `status --check` found
//! stale stages, or `cache verify` found damage); 2 invalid manifest or usage; 3 the engine could
//! not work (I/O, cache); 130 interrupted.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pipeline",
    version,
    about = "Runs machine-learning workflows declared in TOML, re-running only what changed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Cache folder (default: `[pipeline] cache` of the manifest, else `cache/` in the project root).
    #[arg(long, global = true, env = "PIPELINE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: every stage whose inputs, parameters or plugin changed, and what depends on it.
    Run(RunArgs),
    /// Show each stage as up to date or stale, and why.
    Status(StatusArgs),
    /// Print the stage graph.
    Dag(DagArgs),
    /// Print everything a stage's cache key is computed from.
    Explain(ExplainArgs),
    /// List the stage kinds with their parameters.
    Stages(StagesArgs),
    /// Show the run history.
    Log(LogArgs),
    /// Inspect and maintain the cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print the content digest of files or folders (the digest cache keys use).
    Hash(HashArgs),
    /// Serve a live, read-only web view of a pipeline: its graph, statuses, logs, outputs,
    /// training curves and run history (on 127.0.0.1 unless --bind says otherwise).
    Ui(UiArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest, e.g. pipelines/demo.toml.
    pub manifest: PathBuf,
    /// Only these stages and what they depend on (a matrix stage's name selects all instances).
    #[arg(long = "target", value_name = "STAGE")]
    pub targets: Vec<String>,
    /// Run these stages even if cached.
    #[arg(long = "force", value_name = "STAGE")]
    pub force: Vec<String>,
    /// Run every stage even if cached.
    #[arg(long)]
    pub force_all: bool,
    /// Show what would run and why; run nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Stages that may run at once (default: number of CPUs).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Keep running stages that do not depend on a failed one.
    #[arg(short, long)]
    pub keep_going: bool,
    /// CPUs stages may use in total (default: all).
    #[arg(long)]
    pub cpus: Option<usize>,
    /// GPU ids stages may use, e.g. `0,1` (default: PIPELINE_GPUS, CUDA_VISIBLE_DEVICES or nvidia-smi).
    #[arg(long)]
    pub gpus: Option<String>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where stages run: `local` (this process) or `slurm` (one `sbatch` job per stage; the
    /// cache folder must be on a filesystem every node sees). Default: `[pipeline] executor`,
    /// else local.
    #[arg(long, value_enum)]
    pub executor: Option<ExecutorKind>,
    /// Leave `[pipeline] remote` alone: look up and store results in the local cache only.
    #[arg(long)]
    pub no_remote: bool,
}

/// Where stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecutorKind {
    Local,
    Slurm,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub manifest: PathBuf,
    /// Only these stages and what they depend on.
    #[arg(long = "target", value_name = "STAGE")]
    pub targets: Vec<String>,
    /// Exit with 1 if anything is stale.
    #[arg(long)]
    pub check: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DagFormat {
    Text,
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Args)]
pub struct DagArgs {
    pub manifest: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: DagFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    pub manifest: PathBuf,
    /// The stage instance, e.g. `train[seed=1]`.
    pub stage: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StagesArgs {
    /// Only this kind.
    pub kind: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Limit to this manifest's runs (and locate its cache).
    pub manifest: Option<PathBuf>,
    /// How many entries, newest last.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Disk used by the cache.
    Du {
        /// A manifest, to locate its cache.
        manifest: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Delete what the given pipelines do not reference (current and last results are kept).
    Gc {
        /// The pipelines whose results to keep.
        #[arg(required = true)]
        manifests: Vec<PathBuf>,
        /// Show what would be deleted.
        #[arg(short = 'n', long)]
        dry_run: bool,
    },
    /// Upload the local results of a pipeline's stages (all, or these and what they depend on)
    /// that `[pipeline] remote` lacks.
    Push {
        manifest: PathBuf,
        stages: Vec<String>,
    },
    /// Download (and verify) the results of a pipeline's stages from `[pipeline] remote` into
    /// the local cache, without running anything.
    Pull {
        manifest: PathBuf,
        stages: Vec<String>,
    },
    /// Re-hash every stored output and report damage.
    Verify {
        manifest: Option<PathBuf>,
        /// Delete damaged entries so they are recomputed.
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Debug, Args)]
pub struct UiArgs {
    /// The manifest (default: pipeline.toml, else the only manifest in pipelines/).
    pub manifest: Option<PathBuf>,
    /// The port (0: any free one; the address is printed).
    #[arg(long, default_value_t = 8484)]
    pub port: u16,
    /// The address to listen on. Anything but a loopback address lets others on the network read
    /// the pipeline's files.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
}

#[derive(Debug, Args)]
pub struct HashArgs {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Do not read or update the stat snapshot (hash every byte).
    #[arg(long)]
    pub no_stat_cache: bool,
}
