//! Reading a plugin's parameter schema (the JSON schema schemars derives from its `Params`): the
//! forms a value may take, the keys a table accepts, their docs. The engine uses it to point at
//! nested parameters and to document them; what the parameters mean stays the plugin's business.

use serde_json::Value;

use crate::manifest::value::{Entry, SKind, SValue};

/// A stage kind's parameter schema, kept whole so that `$ref`s to its `$defs` can be followed.
pub struct ParamSchema {
    root: Value,
}

impl ParamSchema {
    pub fn new(schema: schemars::Schema) -> Self {
        Self {
            root: schema.to_value(),
        }
    }

    /// The schema of the whole parameter table.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// Follows `$ref`s into `$defs` (a few levels at most; an unknown reference stays as is).
    pub fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        for _ in 0..8 {
            let Some(target) = node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(found) = target
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
            else {
                break;
            };
            node = found;
        }
        node
    }

    /// The alternatives a value may take (`anyOf`/`oneOf` members, nested ones flattened), each
    /// resolved. A schema without alternatives is its own single form.
    pub fn forms<'a>(&'a self, node: &'a Value) -> Vec<&'a Value> {
        let node = self.resolve(node);
        let members = ["anyOf", "oneOf"]
            .iter()
            .filter_map(|k| node.get(*k).and_then(Value::as_array))
            .flatten();
        let mut forms: Vec<&Value> = members.flat_map(|member| self.forms(member)).collect();
        if forms.is_empty() {
            forms.push(node);
        }
        forms
    }

    /// The forms that are tables with named keys.
    pub fn table_forms<'a>(&'a self, node: &'a Value) -> Vec<&'a Value> {
        self.forms(node)
            .into_iter()
            .filter(|form| !self.properties(form).is_empty())
            .collect()
    }

    /// A table form's keys and their schemas (its own and those of `allOf` members), sorted.
    pub fn properties<'a>(&'a self, form: &'a Value) -> Vec<(&'a str, &'a Value)> {
        let mut parts = vec![form];
        parts.extend(
            form.get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|part| self.resolve(part)),
        );
        let mut found: Vec<(&str, &Value)> = parts
            .iter()
            .filter_map(|part| part.get("properties").and_then(Value::as_object))
            .flat_map(|properties| {
                properties
                    .iter()
                    .map(|(key, schema)| (key.as_str(), schema))
            })
            .collect();
        found.sort_by_key(|(key, _)| *key);
        found.dedup_by_key(|(key, _)| *key);
        found
    }

    /// Whether a table form refuses keys it does not list (`deny_unknown_fields`).
    pub fn closed(form: &Value) -> bool {
        ["additionalProperties", "unevaluatedProperties"]
            .iter()
            .any(|k| form.get(*k) == Some(&Value::Bool(false)))
    }

    /// Keys of `node`'s table forms, sorted, without repeats.
    pub fn keys(&self, node: &Value) -> Vec<String> {
        let mut keys: Vec<String> = self
            .table_forms(node)
            .into_iter()
            .flat_map(|form| self.properties(form))
            .map(|(key, _)| key.to_string())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The schema of key `key` of a table of schema `node`, if one of its forms lists it.
    pub fn property<'a>(&'a self, node: &'a Value, key: &str) -> Option<&'a Value> {
        self.table_forms(node).into_iter().find_map(|form| {
            self.properties(form)
                .into_iter()
                .find(|(k, _)| *k == key)
                .map(|(_, schema)| schema)
        })
    }

    /// The schema of item `index` of an array of schema `node`.
    fn item<'a>(&'a self, node: &'a Value, index: usize) -> Option<&'a Value> {
        self.forms(node).into_iter().find_map(|form| {
            let positional = form
                .get("prefixItems")
                .and_then(Value::as_array)
                .and_then(|items| items.get(index));
            positional.or_else(|| form.get("items").filter(|items| items.is_object()))
        })
    }

    /// The schema of the values of a map whose keys are free (`additionalProperties: {schema}`).
    fn map_values<'a>(&'a self, node: &'a Value) -> Option<&'a Value> {
        self.forms(node)
            .into_iter()
            .find_map(|form| form.get("additionalProperties").filter(|v| v.is_object()))
    }

    /// Keys written in `table` (a stage table) that no form of the table holding them accepts,
    /// looking through nested tables and arrays. Only tables that refuse unknown keys count.
    /// `skip` names top-level keys that are not parameters (the engine's own).
    pub fn unknown_keys<'v>(&self, table: &'v SValue, skip: &[&str]) -> Vec<UnknownKey<'v>> {
        let mut found = Vec::new();
        self.walk(table, &self.root, "", skip, &mut found);
        found
    }

    fn walk<'v>(
        &self,
        value: &'v SValue,
        node: &Value,
        path: &str,
        skip: &[&str],
        found: &mut Vec<UnknownKey<'v>>,
    ) {
        match &value.kind {
            SKind::Table(entries) => {
                let forms = self.table_forms(node);
                if forms.is_empty() {
                    if let Some(values) = self.map_values(node) {
                        for entry in entries {
                            self.walk(
                                &entry.value,
                                values,
                                &join_key(path, &entry.key),
                                &[],
                                found,
                            );
                        }
                    }
                    return;
                }
                let closed = forms.iter().all(|form| Self::closed(form));
                for entry in entries.iter().filter(|e| !skip.contains(&e.key.as_str())) {
                    match self.property(node, &entry.key) {
                        Some(schema) => self.walk(
                            &entry.value,
                            schema,
                            &join_key(path, &entry.key),
                            &[],
                            found,
                        ),
                        None if closed => found.push(UnknownKey {
                            table_path: path.to_string(),
                            entry,
                            valid: self.keys(node),
                        }),
                        None => {}
                    }
                }
            }
            SKind::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if let Some(schema) = self.item(node, index) {
                        self.walk(item, schema, &format!("{path}[{index}]"), &[], found);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A key written in a table that does not take it.
#[derive(Debug)]
pub struct UnknownKey<'v> {
    /// The path from the parameter table to the table holding the key (`architecture.model`),
    /// empty for a top-level parameter.
    pub table_path: String,
    pub entry: &'v Entry,
    /// The keys that table takes.
    pub valid: Vec<String>,
}

/// `path.key`, or `key` at the top.
pub fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::value::parse_document;

    fn schema() -> ParamSchema {
        let value = serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string" },
                "model": { "anyOf": [{ "$ref": "#/$defs/Preset" }, { "$ref": "#/$defs/Dims" }] },
                "layers": { "type": "array", "items": { "$ref": "#/$defs/Dims" } },
                "open": { "type": "object", "properties": { "a": { "type": "integer" } } }
            },
            "$defs": {
                "Preset": { "type": "string", "enum": ["base", "large"] },
                "Dims": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": { "depth": { "type": "integer" }, "width": { "type": "integer" } }
                }
            }
        });
        ParamSchema::new(schemars::Schema::try_from(value).unwrap())
    }

    #[test]
    fn finds_keys_no_form_takes_at_any_depth() {
        let text = "kind = \"x\"\nname = \"n\"\nnmae = 1\nmodel = { depth = 2, layers = 3 }\nlayers = [{ width = 1 }, { wdth = 2 }]\nopen = { b = 1 }\n";
        let table = parse_document(text).unwrap();
        let schema = schema();
        let found = schema.unknown_keys(&table, &["kind"]);
        let described: Vec<(String, String)> = found
            .iter()
            .map(|u| (u.table_path.clone(), u.entry.key.clone()))
            .collect();
        let expected = [("", "nmae"), ("model", "layers"), ("layers[1]", "wdth")]
            .map(|(t, k)| (t.to_string(), k.to_string()));
        assert_eq!(described, expected);
        assert_eq!(found[1].valid, ["depth", "width"]);
        assert_eq!(&text[found[1].entry.key_span.clone()], "layers");
    }

    #[test]
    fn lists_forms_and_keys() {
        let schema = schema();
        let model = schema.property(schema.root(), "model").unwrap();
        assert_eq!(schema.forms(model).len(), 2);
        assert_eq!(schema.keys(model), ["depth", "width"]);
        assert!(schema.property(model, "width").is_some());
    }
}
