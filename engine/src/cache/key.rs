//! Cache keys. A stage's key is the BLAKE3 of its key manifest: kind, plugin version, canonical
//! parameters and the content digests of its inputs (upstream *output* digests, so an upstream
//! rerun that yields the same bytes leaves dependents cached). No absolute path, host name or
//! time enters a key, so a stage gets the same key on any machine.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::cache::ids::{Digest, StageKey};

/// The salt of the key schema: change it and every key changes.
pub const KEY_SCHEMA: &str = "pipeline-key-v1";

/// Everything a stage's result depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyManifest {
    pub schema: String,
    pub kind: String,
    pub version: String,
    pub params: serde_json::Value,
    /// Input name -> content digest of each bound path (hex), in binding order.
    pub inputs: BTreeMap<String, Vec<Digest>>,
}

impl KeyManifest {
    /// The key: BLAKE3 (hex) of the canonical JSON of the manifest.
    pub fn key(&self) -> StageKey {
        let value = serde_json::to_value(self).expect("a key manifest is plain data");
        StageKey::new(
            blake3::hash(canonical_json(&value).as_bytes())
                .to_hex()
                .to_string(),
        )
    }
}

/// JSON with object keys sorted and no whitespace, whatever serde_json's map order is.
pub fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(key, value)| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String(key.clone()),
                        canonical_json(value)
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(canonical_json)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        scalar => scalar.to_string(),
    }
}

/// Why `new` differs from `old`, one reason per changed field, in words a user reads.
/// `sources` names each input's paths as written, for messages.
pub fn explain_change(
    old: &KeyManifest,
    new: &KeyManifest,
    sources: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if old.kind != new.kind {
        reasons.push(format!("kind {} -> {}", old.kind, new.kind));
    } else if old.version != new.version {
        reasons.push(format!(
            "plugin {} version {} -> {}",
            new.kind, old.version, new.version
        ));
    }
    if old.schema != new.schema {
        reasons.push(format!("key schema {} -> {}", old.schema, new.schema));
    }
    let (old_params, new_params) = (flatten(&old.params), flatten(&new.params));
    let names: BTreeSet<&String> = old_params.keys().chain(new_params.keys()).collect();
    for name in names {
        match (old_params.get(name), new_params.get(name)) {
            (Some(a), Some(b)) if a != b => reasons.push(format!("param {name} {a} -> {b}")),
            (None, Some(b)) => reasons.push(format!("param {name} added ({b})")),
            (Some(a), None) => reasons.push(format!("param {name} removed (was {a})")),
            _ => {}
        }
    }
    let names: BTreeSet<&String> = old.inputs.keys().chain(new.inputs.keys()).collect();
    for name in names {
        let shown = sources.get(name).map(|s| s.join(", ")).unwrap_or_default();
        match (old.inputs.get(name), new.inputs.get(name)) {
            (Some(a), Some(b)) if a.len() != b.len() => {
                reasons.push(format!(
                    "input {name} ({shown}): {} -> {} paths",
                    a.len(),
                    b.len()
                ));
            }
            (Some(a), Some(b)) if a != b => {
                let changed: Vec<String> = a
                    .iter()
                    .zip(b)
                    .enumerate()
                    .filter(|(_, (x, y))| x != y)
                    .map(|(i, _)| {
                        sources
                            .get(name)
                            .and_then(|s| s.get(i))
                            .cloned()
                            .unwrap_or_else(|| format!("#{i}"))
                    })
                    .collect();
                reasons.push(format!(
                    "input {name} ({}) content changed",
                    changed.join(", ")
                ));
            }
            (None, Some(_)) => reasons.push(format!("input {name} ({shown}) added")),
            (Some(_), None) => reasons.push(format!("input {name} removed")),
            _ => {}
        }
    }
    reasons
}

/// `{"a": {"b": 1}, "c": [1, 2]}` -> `a.b = 1`, `c[0] = 1`, `c[1] = 2`.
fn flatten(value: &serde_json::Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten_into(value, String::new(), &mut out);
    out
}

fn flatten_into(value: &serde_json::Value, prefix: String, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_into(inner, path, out);
            }
        }
        serde_json::Value::Array(items) if !items.is_empty() => {
            for (index, inner) in items.iter().enumerate() {
                flatten_into(inner, format!("{prefix}[{index}]"), out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix, s.clone());
        }
        serde_json::Value::Number(n) if n.is_f64() => {
            out.insert(prefix, show_float(n.as_f64().unwrap_or_default()));
        }
        other => {
            out.insert(prefix, canonical_json(other));
        }
    }
}

/// Floats as people write hyper-parameters: `3e-5`, `0.1`, `1e7`.
fn show_float(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-3..1e7).contains(&magnitude) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(lr: f64, digest: &str) -> KeyManifest {
        KeyManifest {
            schema: KEY_SCHEMA.into(),
            kind: "exec".into(),
            version: "1".into(),
            params: serde_json::json!({"lr": lr, "cmd": ["a", "b"]}),
            inputs: BTreeMap::from([("data".to_string(), vec![Digest::new(digest)])]),
        }
    }

    #[test]
    fn explains_param_and_input_changes() {
        let sources = BTreeMap::from([("data".to_string(), vec!["data/x.json".to_string()])]);
        let reasons = explain_change(&manifest(3e-5, "aa"), &manifest(2e-5, "bb"), &sources);
        assert_eq!(
            reasons,
            [
                "param lr 3e-5 -> 2e-5",
                "input data (data/x.json) content changed"
            ]
        );
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let value = serde_json::json!({"b": 1, "a": {"d": [1, 2.5], "c": "x"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":"x","d":[1,2.5]},"b":1}"#
        );
    }
}
