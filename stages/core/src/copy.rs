//! `copy`: gathers inputs into one output folder, laid out as its `layout` says.

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

/// `a, b`, or `none`.
pub(crate) fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

pub(crate) fn copy_into(source: &Path, target: &Path) -> Result<(), StageError> {
    copy_path(source, target).map_err(|e| {
        StageError::io(
            format!("copying `{}` to `{}`", source.display(), target.display()),
            e,
        )
    })
}
