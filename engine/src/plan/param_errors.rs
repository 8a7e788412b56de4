//! Turning a plugin's parameter error into diagnostics that point at the text: the parameter, or
//! the key inside a nested table (`architecture.model.layers`), with the keys its table takes.
//!
//! Serde reports the first problem only, and errors raised inside custom or untagged
//! deserializers may carry no path; the plugin's JSON schema says where a key does not belong.
//! Whether the error is a key its table does not take is the error's kind
//! ([`ParamErrorKind::UnknownField`]), set where the plugin's parameters were deserialized.

use pipeline_api::{DynStage, ParamError, ParamErrorKind};

use crate::manifest::diagnostics::{Diagnostic, SourceFile, did_you_mean};
use crate::plan::expand::Instance;
use crate::plan::schema::{ParamSchema, UnknownKey, join_key};
use crate::plan::{ENGINE_KEYS, PlannedStage};

/// The diagnostics for `error`, raised by `plugin` on the parameters of `instance`.
pub fn diagnose(
    source: &SourceFile,
    instance: &Instance,
    plugin: &dyn DynStage,
    error: &ParamError,
) -> Vec<Diagnostic> {
    let schema = ParamSchema::new(plugin.params_schema());
    let unknown = schema.unknown_keys(&instance.table, &ENGINE_KEYS);
    if let ParamErrorKind::UnknownField(unknown_field) = &error.kind {
        let (field, valid) = (unknown_field.field.as_str(), &unknown_field.valid);
        let candidates: Vec<&UnknownKey<'_>> =
            unknown.iter().filter(|u| u.entry.key == field).collect();
        // Several tables may hold a key of that name: the one on serde's path, if it gave one.
        let on_path = candidates
            .iter()
            .find(|u| error.path == join_key(&u.table_path, field) || error.path == u.table_path);
        if let Some(found) = on_path.or(candidates.first()) {
            return vec![unknown_key(source, instance, plugin, found)];
        }
        if let Some(diagnostic) = unknown_on_path(source, instance, plugin, error, field, valid) {
            return vec![diagnostic];
        }
    } else {
        // A value no form of which fits (an untagged enum): a key none of its tables take says why.
        let under: Vec<Diagnostic> = unknown
            .iter()
            .filter(|u| !error.path.is_empty() && within(&u.table_path, &error.path))
            .map(|u| unknown_key(source, instance, plugin, u))
            .collect();
        if !under.is_empty() {
            return under;
        }
    }
    vec![generic(source, instance, plugin, &schema, error)]
}

/// Whether `path` is `outer` or inside it.
fn within(path: &str, outer: &str) -> bool {
    path.strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

fn unknown_key(
    source: &SourceFile,
    instance: &Instance,
    plugin: &dyn DynStage,
    unknown: &UnknownKey<'_>,
) -> Diagnostic {
    let field = unknown.entry.key.as_str();
    let span = Some(unknown.entry.key_span.clone());
    if unknown.table_path.is_empty() {
        let mut candidates: Vec<&str> = unknown.valid.iter().map(String::as_str).collect();
        candidates.extend(ENGINE_KEYS);
        let valid = unknown.valid.join(", ");
        let hint = match did_you_mean(field, candidates) {
            Some(close) => format!(
                "did you mean `{close}`? valid keys for `{}`: {valid}",
                plugin.kind()
            ),
            None => format!(
                "valid keys for `{}`: {valid} (and the engine's {})",
                plugin.kind(),
                ENGINE_KEYS.join(", ")
            ),
        };
        return Diagnostic::new(
            source,
            span,
            format!(
                "unknown parameter `{field}` for stage kind `{}`",
                plugin.kind()
            ),
        )
        .with_hint(hint);
    }
    nested(
        source,
        span,
        instance,
        plugin,
        field,
        &unknown.table_path,
        &unknown.valid,
    )
}

fn nested(
    source: &SourceFile,
    span: Option<std::ops::Range<usize>>,
    instance: &Instance,
    plugin: &dyn DynStage,
    field: &str,
    table: &str,
    valid: &[String],
) -> Diagnostic {
    let list = valid.join(", ");
    let hint = match did_you_mean(field, valid.iter().map(String::as_str)) {
        Some(close) => format!("did you mean `{close}`? valid keys of `{table}`: {list}"),
        None => format!(
            "valid keys of `{table}`: {list} (`pipeline stages {}` documents them)",
            plugin.kind()
        ),
    };
    Diagnostic::new(
        source,
        span,
        format!(
            "stage `{}`: unknown key `{field}` in `{table}`",
            instance.name
        ),
    )
    .with_hint(hint)
}

/// When the schema does not refuse the key but serde did: serde's path and its list of keys
/// (`valid`).
fn unknown_on_path(
    source: &SourceFile,
    instance: &Instance,
    plugin: &dyn DynStage,
    error: &ParamError,
    field: &str,
    valid: &[String],
) -> Option<Diagnostic> {
    let table = error
        .path
        .strip_suffix(field)
        .map(|p| p.trim_end_matches('.'))
        .unwrap_or(error.path.as_str());
    let holder = if table.is_empty() {
        Some(&instance.table)
    } else {
        instance.table.find(table)
    };
    let entry = holder?.get(field)?;
    if table.is_empty() {
        let unknown = UnknownKey {
            table_path: String::new(),
            entry,
            valid: valid.to_vec(),
        };
        return Some(unknown_key(source, instance, plugin, &unknown));
    }
    Some(nested(
        source,
        Some(entry.key_span.clone()),
        instance,
        plugin,
        field,
        table,
        valid,
    ))
}

fn generic(
    source: &SourceFile,
    instance: &Instance,
    plugin: &dyn DynStage,
    schema: &ParamSchema,
    error: &ParamError,
) -> Diagnostic {
    let valid = schema.keys(schema.root());
    let span = match instance.table.find(&error.path) {
        Some(_) if !error.path.is_empty() => instance.table.locate(&error.path),
        _ => instance.name_span.clone(),
    };
    let engine_key = error
        .path
        .split(['.', '['])
        .next()
        .is_some_and(|key| ENGINE_KEYS.contains(&key));
    let what = match error.path.as_str() {
        "" => String::new(),
        path if engine_key => format!("`{path}`: "),
        path => format!("parameter `{path}`: "),
    };
    let close = error
        .choices
        .as_deref()
        .and_then(|(word, choices)| did_you_mean(word, choices.iter().map(String::as_str)));
    let hint = match (close, &error.hint) {
        (Some(close), Some(hint)) => format!("did you mean `{close}`? {hint}"),
        (Some(close), None) => format!("did you mean `{close}`?"),
        (None, Some(hint)) => hint.clone(),
        (None, None) => format!(
            "`pipeline stages {}` documents its parameters: {}",
            plugin.kind(),
            valid.join(", ")
        ),
    };
    Diagnostic::new(
        source,
        Some(span),
        format!("stage `{}`: {what}{}", instance.name, error.message),
    )
    .with_hint(hint)
}

/// The diagnostics for a stage whose parameters do not fit its inputs (`${inputs.x}` naming no
/// input, a `publish` with several): checked once the inputs are resolved, before anything runs.
pub fn check_inputs(
    source: &SourceFile,
    instance: &Instance,
    plugin: &dyn DynStage,
    stage: &PlannedStage,
) -> Vec<Diagnostic> {
    let counts = stage
        .inputs
        .iter()
        .map(|(name, sources)| (name.clone(), sources.len()))
        .collect();
    match stage.configured.check_inputs(&counts) {
        Ok(()) => Vec::new(),
        Err(error) => diagnose(source, instance, plugin, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::diagnostics::Diagnostics;
    use crate::plan::expand::expand;
    use crate::testing;

    /// The diagnostics for `error` raised on the one stage of `manifest`, with the text the key
    /// they point at.
    fn diagnosed(manifest: &str, error: &ParamError) -> Vec<(String, String)> {
        let manifest = testing::manifest(manifest);
        let registry = testing::registry();
        let instances = expand(&manifest, &mut Diagnostics::default());
        let plugin = registry.get("emit").expect("registered");
        diagnose(&manifest.source, &instances[0], plugin, error)
            .into_iter()
            .map(|d| {
                let at = d.span.map(|s| manifest.source.text[s].to_string());
                (d.message, at.unwrap_or_default())
            })
            .collect()
    }

    const MISSPELT: &str = "[stage.a]\nkind = \"emit\"\ntxet = \"hi\"\n";

    #[test]
    fn an_unknown_field_is_known_by_its_kind_not_by_its_words() {
        let error = ParamError::unknown_field("txet", "refused", "txet", vec!["text".into()]);
        assert_eq!(
            diagnosed(MISSPELT, &error),
            [(
                "unknown parameter `txet` for stage kind `emit`".to_string(),
                "txet".to_string()
            )]
        );
    }

    #[test]
    fn serde_words_in_an_error_of_another_kind_are_not_read() {
        let error = ParamError::new("", "unknown field `txet`, expected `text`");
        assert_eq!(
            diagnosed(MISSPELT, &error),
            [(
                "stage `a`: unknown field `txet`, expected `text`".to_string(),
                "a".to_string()
            )]
        );
    }

    #[test]
    fn an_unknown_key_of_a_nested_table_is_pointed_at_with_its_table_keys() {
        let manifest = "[stage.a]\nkind = \"emit\"\nmodel = { depth = 2, widht = 3 }\n";
        let params: toml::Value = toml::from_str("model = { depth = 2, widht = 3 }").unwrap();
        let registry = testing::registry();
        let Err(error) = registry.get("emit").unwrap().prepare(params) else {
            panic!("the misspelt key was accepted");
        };
        let found = diagnosed(manifest, &error);
        assert_eq!(
            found,
            [(
                "stage `a`: unknown key `widht` in `model`".to_string(),
                "widht".to_string()
            )]
        );
    }
}
