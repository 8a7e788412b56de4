//! `copy` and `publish`: gather inputs into one output, and put an output at a user-visible path.

use std::collections::BTreeMap;
use std::path::Path;

use pipeline_api::{ParamError, Stage, StageContext, StageError, check_relative, copy_path};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub struct Copy;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyParams {
    /// Where each input goes: `{ "data/train.parquet" = "train" }` copies input `train` to
    /// `data/train.parquet` inside the output. An input bound to several paths becomes a folder
    /// holding `0/`, `1/`, ... one per path.
    pub layout: BTreeMap<String, String>,
}

impl Stage for Copy {
    const KIND: &'static str = "copy";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Copies inputs into one output folder, laid out as `layout` says.";
    type Params = CopyParams;

    fn validate(params: &CopyParams) -> Result<(), ParamError> {
        if params.layout.is_empty() {
            return Err(ParamError::new(
                "layout",
                "map at least one output path to an input name",
            ));
        }
        for dest in params.layout.keys() {
            check_relative(dest)
                .map_err(|e| ParamError::new(format!("layout.{dest}"), e.to_string()))?;
        }
        Ok(())
    }

    fn check_inputs(
        params: &CopyParams,
        inputs: &BTreeMap<String, usize>,
    ) -> Result<(), ParamError> {
        for (dest, input) in &params.layout {
            if !inputs.contains_key(input) {
                let declared: Vec<String> = inputs.keys().cloned().collect();
                return Err(ParamError::new(
                    "layout",
                    format!("`{dest}` = `{input}`: `{input}` names no input of this stage"),
                )
                .with_hint(format!(
                    "layout maps output paths to input names; this stage's inputs: {}",
                    list(&declared)
                ))
                .with_choices(input.clone(), declared));
            }
        }
        Ok(())
    }

    fn outputs(params: &CopyParams) -> Vec<String> {
        params.layout.keys().cloned().collect()
    }

    fn run(&self, params: &CopyParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        for (dest, input) in &params.layout {
            let target = ctx.out_dir.join(dest);
            match ctx.input_list(input)? {
                [one] => copy_into(one, &target)?,
                many => {
                    for (index, source) in many.iter().enumerate() {
                        copy_into(source, &target.join(index.to_string()))?;
                    }
                }
            }
        }
        Ok(())
    }
}

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

/// `a, b`, or `none`.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn copy_into(source: &Path, target: &Path) -> Result<(), StageError> {
    copy_path(source, target).map_err(|e| {
        StageError::io(
            format!("copying `{}` to `{}`", source.display(), target.display()),
            e,
        )
    })
}
