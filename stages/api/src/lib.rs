//! The contract between the `pipeline` engine and its stage plugins.
//!
//! A stage plugin implements [`Stage`]: a kind name used in manifests, a version that is part of
//! every cache key, typed parameters (deserialized from the stage's TOML table, documented through
//! their JSON schema), the outputs it promises and a `run` that writes into its output directory.
//! The engine erases plugins into [`DynStage`] objects and never learns what a stage does; stages
//! never see the graph, the cache or other stages, only the [`StageContext`] they are handed.

mod context;
mod erased;
mod folder_run;
mod paths;
pub mod rng;

pub use context::{CancelToken, Progress, SilentProgress, StageContext};
pub use erased::{ConfiguredStage, DynStage, ParamError, ParamErrorKind, UnknownField, erase};
pub use folder_run::FolderRun;
pub use paths::{RelPathError, check_relative, copy_path};

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A stage plugin, registered by its [`Stage::KIND`].
pub trait Stage: Send + Sync + 'static {
    /// The name used in manifests (`kind = "exec"`). Never rename a kind: add a new one.
    const KIND: &'static str;
    /// Part of every cache key of this stage: bump it when the stage's behaviour changes, and every
    /// earlier result of this kind becomes stale.
    const VERSION: &'static str;
    /// One paragraph for `pipeline stages`.
    const DOC: &'static str;
    /// The stage's parameters: every key of the stage table that the engine does not reserve.
    type Params: DeserializeOwned + Serialize + schemars::JsonSchema + Send + Sync + 'static;

    /// Checks parameters beyond what their types say. The error names the offending parameter.
    fn validate(_params: &Self::Params) -> Result<(), ParamError> {
        Ok(())
    }

    /// Checks the parameters against the stage's inputs, before anything runs: `inputs` holds each
    /// input name with the number of paths bound to it (an input naming every instance of a
    /// matrix stage binds several). The error names the offending parameter (`inputs` for the
    /// input table itself).
    fn check_inputs(
        _params: &Self::Params,
        _inputs: &BTreeMap<String, usize>,
    ) -> Result<(), ParamError> {
        Ok(())
    }

    /// Relative paths inside the output directory that a successful run must have written.
    /// A name ending in `/` is a directory. Other stages may reference these as `@stage/name`.
    fn outputs(params: &Self::Params) -> Vec<String>;

    /// Files of the output that the engine also places at user-visible paths after each run or
    /// cache hit: `(path inside the output directory, path relative to the project root)`.
    fn publishes(_params: &Self::Params) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Whether a run interrupted part-way may continue from what it left in its output directory
    /// (training checkpoints). Non-resumable stages always start from an empty directory.
    fn resumable(_params: &Self::Params) -> bool {
        false
    }

    /// Does the work: reads `ctx` inputs and writes into `ctx.out_dir`.
    fn run(&self, params: &Self::Params, ctx: &mut StageContext<'_>) -> Result<(), StageError>;
}

/// Why a stage run failed. The message is shown to the user as is: say what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{0}")]
    Failed(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A failure caused by another error, which is kept as the source (for `{:?}`, logs and
    /// callers that inspect it) and shown after the context.
    #[error("{context}: {source}")]
    Caused {
        context: String,
        #[source]
        source: BoxError,
    },
    /// Another error, shown as it is and kept as the source.
    #[error(transparent)]
    Other(BoxError),
}

/// Any error a stage passes on.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl StageError {
    pub fn failed(message: impl Into<String>) -> Self {
        StageError::Failed(message.into())
    }

    /// `source`, with what was being done when it happened.
    pub fn caused(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StageError::Caused {
            context: context.into(),
            source: source.into(),
        }
    }

    /// `source` as it is (its message already says what failed).
    pub fn other(source: impl Into<BoxError>) -> Self {
        StageError::Other(source.into())
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StageError::Io {
            context: context.into(),
            source,
        }
    }
}
