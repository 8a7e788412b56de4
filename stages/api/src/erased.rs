//! Type erasure: turns a [`Stage`] with typed parameters into an object the engine can hold in a
//! registry and drive with TOML values.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use crate::{Stage, StageContext, StageError};

/// A parameter that does not fit its stage: where (a dotted path such as `lr` or `cmd[2]`, empty
/// for the whole table) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub path: String,
    pub message: String,
    /// What to do about it, when the message does not say.
    pub hint: Option<String>,
    /// A word that was not recognised and the words that would have been: the engine turns them
    /// into a did-you-mean hint.
    pub choices: Option<(String, Vec<String>)>,
}

impl ParamError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            hint: None,
            choices: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `word` was not recognised; `choices` are the words that would have been.
    pub fn with_choices(mut self, word: impl Into<String>, choices: Vec<String>) -> Self {
        self.choices = Some((word.into(), choices));
        self
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "parameter `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ParamError {}

/// A registered stage kind, without its parameter type.
pub trait DynStage: Send + Sync {
    fn kind(&self) -> &'static str;
    fn version(&self) -> &'static str;
    fn doc(&self) -> &'static str;
    /// The JSON schema of the parameters, with the doc comment of each field.
    fn params_schema(&self) -> schemars::Schema;
    /// Deserializes and validates parameters: the stage kind configured for one stage instance.
    fn prepare(&self, params: toml::Value) -> Result<Box<dyn ConfiguredStage>, ParamError>;

    /// Each top-level parameter with its doc comment (`None`: undocumented), from the schema.
    fn param_docs(&self) -> BTreeMap<String, Option<String>> {
        let schema = self.params_schema();
        let properties = schema.get("properties").and_then(|p| p.as_object());
        properties
            .into_iter()
            .flatten()
            .map(|(name, property)| {
                let doc = property.get("description").and_then(|d| d.as_str());
                (name.clone(), doc.map(str::to_string))
            })
            .collect()
    }
}

/// A stage kind bound to its parsed and checked parameters: what one stage instance of a pipeline
/// runs. [`DynStage::prepare`] makes it.
pub trait ConfiguredStage: Send + Sync {
    /// The parameters after deserialization, defaults filled in: what the cache key hashes.
    fn canonical_params(&self) -> serde_json::Value;
    fn outputs(&self) -> Vec<String>;
    fn publishes(&self) -> Vec<(String, String)>;
    fn resumable(&self) -> bool;
    /// Checks the parameters against the stage's inputs: each input name with the number of
    /// paths bound to it (see [`Stage::check_inputs`]).
    fn check_inputs(&self, inputs: &BTreeMap<String, usize>) -> Result<(), ParamError>;
    fn run(&self, ctx: &mut StageContext<'_>) -> Result<(), StageError>;
}

/// Wraps a stage plugin for the registry.
pub fn erase<S: Stage>(stage: S) -> Box<dyn DynStage> {
    Box::new(Erased(std::sync::Arc::new(stage)))
}

struct Erased<S>(std::sync::Arc<S>);

/// A stage kind with its typed parameters.
struct Configured<S: Stage> {
    stage: std::sync::Arc<S>,
    params: S::Params,
    _kind: PhantomData<S>,
}

impl<S: Stage> DynStage for Erased<S> {
    fn kind(&self) -> &'static str {
        S::KIND
    }

    fn version(&self) -> &'static str {
        S::VERSION
    }

    fn doc(&self) -> &'static str {
        S::DOC
    }

    fn params_schema(&self) -> schemars::Schema {
        schemars::schema_for!(S::Params)
    }

    fn prepare(&self, params: toml::Value) -> Result<Box<dyn ConfiguredStage>, ParamError> {
        let params: S::Params = serde_path_to_error::deserialize(params).map_err(|error| {
            let path = error.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = error.into_inner().to_string();
            let first_line = message
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            ParamError::new(path, first_line)
        })?;
        S::validate(&params)?;
        Ok(Box::new(Configured {
            stage: self.0.clone(),
            params,
            _kind: PhantomData::<S>,
        }))
    }
}

impl<S: Stage> ConfiguredStage for Configured<S> {
    fn canonical_params(&self) -> serde_json::Value {
        // Serializing a plain data struct cannot fail; a stage whose params hold maps with
        // non-string keys would be a programming error caught by the registry's tests.
        serde_json::to_value(&self.params).expect("stage parameters should serialize to JSON")
    }

    fn outputs(&self) -> Vec<String> {
        S::outputs(&self.params)
    }

    fn publishes(&self) -> Vec<(String, String)> {
        S::publishes(&self.params)
    }

    fn resumable(&self) -> bool {
        S::resumable(&self.params)
    }

    fn check_inputs(&self, inputs: &BTreeMap<String, usize>) -> Result<(), ParamError> {
        S::check_inputs(&self.params, inputs)
    }

    fn run(&self, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        self.stage.run(&self.params, ctx)
    }
}
