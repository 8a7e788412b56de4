//! `publish`: puts its single input at a user-visible path (the engine swaps it in atomically).

use std::collections::BTreeMap;
use std::path::Path;

use pipeline_api::{ParamError, Stage, StageContext, StageError, check_relative};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::copy::{copy_into, list};

pub struct Publish;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishParams {
    /// Where to put the stage's single input, relative to the project root, e.g.
    /// `results/submission.csv`. Replaced atomically after each run or cache hit.
    pub path: String,
}

impl PublishParams {
    fn file_name(&self) -> String {
        Path::new(&self.path)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "published".to_string())
    }
}

impl Stage for Publish {
    const KIND: &'static str = "publish";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Puts its single input at a user-visible path (`path`, relative to \
        the project root), kept up to date on every run, restored from the cache when deleted.";
    type Params = PublishParams;

    fn validate(params: &PublishParams) -> Result<(), ParamError> {
        check_relative(&params.path).map_err(|e| ParamError::new("path", e.to_string()))
    }

    fn outputs(params: &PublishParams) -> Vec<String> {
        vec![params.file_name()]
    }

    fn check_inputs(
        _params: &PublishParams,
        inputs: &BTreeMap<String, usize>,
    ) -> Result<(), ParamError> {
        let paths: usize = inputs.values().sum();
        if paths == 1 {
            return Ok(());
        }
        let bound: Vec<String> = inputs
            .iter()
            .map(|(name, n)| format!("{name} ({n} path{})", if *n == 1 { "" } else { "s" }))
            .collect();
        Err(ParamError::new("inputs", format!("`publish` takes exactly one input path; this stage binds {paths}: {}", list(&bound)))
            .with_hint("give it one file or folder, e.g. inputs = { file = \"@predict/submission.csv\" }; \
                publish each of several outputs with its own stage, or gather them with `copy` first"))
    }

    fn publishes(params: &PublishParams) -> Vec<(String, String)> {
        vec![(params.file_name(), params.path.clone())]
    }

    fn run(&self, params: &PublishParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let mut sources = ctx.inputs.values().flatten();
        match (sources.next(), sources.next()) {
            (Some(source), None) => copy_into(source, &ctx.out_dir.join(params.file_name())),
            _ => Err(StageError::failed(
                "`publish` takes exactly one input path, e.g. inputs = { file = \"@predict/submission.csv\" }",
            )),
        }
    }
}
