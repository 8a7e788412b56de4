//! Type erasure: turns a [`Stage`] with typed parameters into an object the engine can hold in a
//! registry and drive with TOML values.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use crate::{Stage, StageContext, StageError};

/// A parameter that does not fit its stage: where (a dotted path such as `lr` or `cmd[2]`, empty
/// for the whole table), what is wrong, and what kind of problem it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub path: String,
    pub message: String,
    /// What kind of problem it is, for the engine to point at the text: set where the error is
    /// made, never read back from `message`.
    pub kind: ParamErrorKind,
    /// What to do about it, when the message does not say.
    pub hint: Option<String>,
    /// A word that was not recognised and the words that would have been: the engine turns them
    /// into a did-you-mean hint. Boxed, as is the detail of [`ParamErrorKind::UnknownField`]:
    /// every stage check returns a `ParamError`, and clippy wants errors under 128 bytes.
    pub choices: Option<Box<(String, Vec<String>)>>,
}

impl ParamError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            kind: ParamErrorKind::Invalid,
            hint: None,
            choices: None,
        }
    }

    /// A key that its table does not take: `valid` are the keys it does take.
    pub fn unknown_field(
        path: impl Into<String>,
        message: impl Into<String>,
        field: impl Into<String>,
        valid: Vec<String>,
    ) -> Self {
        Self {
            kind: ParamErrorKind::UnknownField(Box::new(UnknownField {
                field: field.into(),
                valid,
            })),
            ..Self::new(path, message)
        }
    }

    /// The error for parameters that serde could not deserialize: `path` is where (serde's path,
    /// empty for the whole table) and `message` the first line of serde's error.
    ///
    /// This is the one place that reads serde's text: serde hands a deserializer's error type the
    /// unknown key and the expected keys as values (`de::Error::unknown_field`), but the TOML
    /// deserializer keeps only the message it formats from them, always in the same words
    /// (`unknown field `x`, expected one of `a`, `b``, or `there are no fields`). They are read
    /// back here, once, into [`ParamErrorKind::UnknownField`]; everything else is
    /// [`ParamErrorKind::Invalid`].
    fn from_serde(path: String, message: String) -> Self {
        let Some(field) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_string())
        else {
            return Self::new(path, message);
        };
        // After "expected": `a`, `a` or `b`, one of `a`, `b`, `c`; the names sit between backticks.
        let valid = message
            .split_once(", expected ")
            .map(|(_, expected)| {
                expected
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Self::unknown_field(path, message, field, valid)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `word` was not recognised; `choices` are the words that would have been.
    pub fn with_choices(mut self, word: impl Into<String>, choices: Vec<String>) -> Self {
        self.choices = Some(Box::new((word.into(), choices)));
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

/// What kind of problem a [`ParamError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamErrorKind {
    /// A key that its table does not take (a misspelled parameter, or a key of a nested table).
    UnknownField(Box<UnknownField>),
    /// Any other problem: a value of the wrong type or out of range, a missing key, a check of the
    /// stage's own.
    Invalid,
}

/// A key that its table does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The key as written.
    pub field: String,
    /// The keys the table takes (empty when unknown).
    pub valid: Vec<String>,
}

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
            ParamError::from_serde(path, first_line)
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

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    /// A stage whose parameters hold a nested table, both refusing keys they do not take.
    struct Nested;

    #[derive(Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Params {
        lr: f64,
        #[serde(default)]
        model: Option<Model>,
    }

    #[derive(Serialize, Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Model {
        depth: u32,
        width: u32,
    }

    impl Stage for Nested {
        const KIND: &'static str = "nested";
        const VERSION: &'static str = "1";
        const DOC: &'static str = "A test stage.";
        type Params = Params;

        fn validate(params: &Params) -> Result<(), ParamError> {
            if params.lr <= 0.0 {
                return Err(ParamError::new("lr", "must be positive"));
            }
            Ok(())
        }

        fn outputs(_params: &Params) -> Vec<String> {
            Vec::new()
        }

        fn run(&self, _params: &Params, _ctx: &mut StageContext<'_>) -> Result<(), StageError> {
            Ok(())
        }
    }

    fn unknown(field: &str, valid: &[&str]) -> ParamErrorKind {
        ParamErrorKind::UnknownField(Box::new(UnknownField {
            field: field.to_string(),
            valid: valid.iter().map(|key| key.to_string()).collect(),
        }))
    }

    fn refused(params: &str) -> ParamError {
        let params: toml::Value = toml::from_str(params).expect("valid TOML");
        match erase(Nested).prepare(params) {
            Ok(_) => panic!("the parameters were accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn an_unknown_key_in_a_nested_table_is_classified_with_the_keys_it_takes() {
        let error = refused("lr = 0.1\nmodel = { depth = 2, widht = 3 }");
        assert_eq!(error.kind, unknown("widht", &["depth", "width"]));
        assert_eq!(error.path, "model.widht");
        assert_eq!(
            error.message,
            "unknown field `widht`, expected `depth` or `width`"
        );
    }

    #[test]
    fn an_unknown_top_level_key_is_classified() {
        let error = refused("lr = 0.1\nseed = 3");
        assert_eq!(error.kind, unknown("seed", &["lr", "model"]));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_invalid_at_its_path() {
        let error = refused("lr = \"fast\"");
        assert_eq!(error.kind, ParamErrorKind::Invalid);
        assert_eq!(error.path, "lr");
        assert!(
            error.message.starts_with("invalid type: string"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_stage_check_keeps_its_words_and_is_invalid() {
        let error = refused("lr = -1.0");
        assert_eq!(error, ParamError::new("lr", "must be positive"));
        assert_eq!(error.kind, ParamErrorKind::Invalid);
    }

    #[test]
    fn serde_lists_of_expected_keys_are_read_in_each_form() {
        let valid = |message: &str| match ParamError::from_serde(String::new(), message.into()).kind
        {
            ParamErrorKind::UnknownField(unknown) => (unknown.field, unknown.valid),
            ParamErrorKind::Invalid => panic!("not classified: {message}"),
        };
        let (field, keys) =
            valid("unknown field `layers`, expected one of `embed_dim`, `depth`, `x`");
        assert_eq!(field, "layers");
        assert_eq!(keys, ["embed_dim", "depth", "x"]);
        assert_eq!(valid("unknown field `a`, expected `b`").1, ["b"]);
        assert_eq!(
            valid("unknown field `a`, there are no fields").1,
            Vec::<String>::new()
        );
        assert_eq!(
            valid("unknown field `unexpected`, expected `b`"),
            ("unexpected".to_string(), vec!["b".to_string()])
        );
    }

    #[test]
    fn an_error_stays_under_clippys_large_error_size() {
        // Every stage's `validate` returns one; clippy's `result_large_err` fires at 128 bytes in
        // every crate that returns it from a function of its own.
        assert!(size_of::<ParamError>() < 128);
    }
}
