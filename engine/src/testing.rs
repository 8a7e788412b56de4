//! For the unit tests: a stage kind to plan with, and manifests parsed from text.

use std::path::Path;

use pipeline_api::{ParamError, Stage, StageContext, StageError, erase};
use serde::{Deserialize, Serialize};

use crate::manifest::{self, Manifest};
use crate::registry::Registry;

/// `kind = "emit"`: writes `text` into each of its `outputs`.
pub struct Emit;

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmitParams {
    /// What each output holds.
    #[serde(default)]
    pub text: String,
    /// The files it writes.
    #[serde(default = "default_outputs")]
    pub outputs: Vec<String>,
    /// A nested table, for errors inside one.
    #[serde(default)]
    pub model: Option<Model>,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Layers.
    pub depth: u32,
    /// Units per layer.
    pub width: u32,
}

fn default_outputs() -> Vec<String> {
    vec!["out.txt".to_string()]
}

impl Stage for Emit {
    const KIND: &'static str = "emit";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Writes its text into each of its outputs.";
    type Params = EmitParams;

    fn validate(params: &EmitParams) -> Result<(), ParamError> {
        if params.outputs.is_empty() {
            return Err(ParamError::new("outputs", "name at least one output"));
        }
        Ok(())
    }

    fn outputs(params: &EmitParams) -> Vec<String> {
        params.outputs.clone()
    }

    fn run(&self, params: &EmitParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        for output in &params.outputs {
            std::fs::write(ctx.out_dir.join(output), &params.text)
                .map_err(|e| StageError::io(format!("writing {output}"), e))?;
        }
        Ok(())
    }
}

/// A registry holding [`Emit`].
pub fn registry() -> Registry {
    let mut registry = Registry::empty();
    registry.register(erase(Emit));
    registry
}

/// `text` as the manifest `root/pipeline.toml` (which need not exist); panics on any error.
pub fn manifest_in(root: &Path, text: &str) -> Manifest {
    manifest::parse(&root.join("pipeline.toml"), text)
        .unwrap_or_else(|errors| panic!("the manifest is refused:\n{errors}"))
}

/// `text` as a manifest in a folder of no importance (for manifests without path inputs).
pub fn manifest(text: &str) -> Manifest {
    manifest_in(&std::env::temp_dir(), text)
}
