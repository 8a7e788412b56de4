//! The text of `pipeline stages KIND`: every parameter with its type, default and doc, and for a
//! parameter that takes a table (or one of several forms), the keys of that table, nested.

use std::fmt::Write as _;

use serde_json::Value;

use crate::plan::schema::ParamSchema;

/// Nested tables deeper than this are not expanded (a recursive type would never end).
const MAX_DEPTH: usize = 4;

/// The parameters of a stage kind, one per entry, starting at `indent` spaces.
pub fn render(schema: &ParamSchema, indent: usize) -> String {
    let mut out = String::new();
    fields(&mut out, schema, schema.root(), indent, 0);
    out
}

/// The keys of a table form, each with its line, its doc and its own forms.
fn fields(out: &mut String, schema: &ParamSchema, form: &Value, indent: usize, depth: usize) {
    let required: Vec<&str> = form
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in schema.properties(form) {
        let default = property
            .get("default")
            .map(|d| format!(" = {d}"))
            .unwrap_or_default();
        let needed = if required.contains(&name) {
            " (required)"
        } else {
            ""
        };
        let pad = " ".repeat(indent);
        let _ = writeln!(
            out,
            "{pad}{name}: {}{default}{needed}",
            label(schema, property)
        );
        let doc = property_doc(schema, property);
        if !doc.is_empty() {
            let _ = writeln!(out, "{pad}    {doc}");
        }
        if depth < MAX_DEPTH {
            forms(out, schema, property, &doc, indent + 4, depth + 1);
        }
    }
}

/// A parameter's doc: its own, its type's, or that of the one form it has besides null.
fn property_doc(schema: &ParamSchema, property: &Value) -> String {
    if let Some(doc) = description(property).or_else(|| description(schema.resolve(property))) {
        return one_line(doc);
    }
    match alternatives(schema, property)
        .into_iter()
        .filter(|(form, _)| !is_null(form))
        .collect::<Vec<_>>()
        .as_slice()
    {
        [(_, Some(doc))] => doc.clone(),
        _ => String::new(),
    }
}

/// What a parameter may be, when it is more than one plain type: each form with its doc, and the
/// keys of each table form.
fn forms(
    out: &mut String,
    schema: &ParamSchema,
    property: &Value,
    doc: &str,
    indent: usize,
    depth: usize,
) {
    let alternatives: Vec<(&Value, Option<String>)> = alternatives(schema, property)
        .into_iter()
        .filter(|(form, _)| !is_null(form))
        .collect();
    let pad = " ".repeat(indent);
    if let [(form, form_doc)] = alternatives.as_slice() {
        if !schema.properties(form).is_empty() {
            if let Some(extra) = form_doc.as_deref().filter(|d| *d != doc) {
                let _ = writeln!(out, "{pad}{extra}");
            }
            fields(out, schema, form, indent, depth);
        }
        return;
    }
    let worth_listing = alternatives
        .iter()
        .any(|(form, form_doc)| form_doc.is_some() || !schema.properties(form).is_empty());
    if !worth_listing {
        return;
    }
    let _ = writeln!(out, "{pad}one of:");
    for (form, form_doc) in alternatives {
        let text = form_doc.map(|d| format!(": {d}")).unwrap_or_default();
        let _ = writeln!(out, "{pad}  {}{text}", form_label(schema, form));
        if !schema.properties(form).is_empty() {
            fields(out, schema, form, indent + 4, depth);
        }
    }
}

/// Each form of `node` with the doc that goes with it: the referring schema's and the form's
/// own (a documented variant holding a documented type has both), on one line.
fn alternatives<'a>(schema: &'a ParamSchema, node: &'a Value) -> Vec<(&'a Value, Option<String>)> {
    let resolved = schema.resolve(node);
    let members: Vec<&Value> = ["anyOf", "oneOf"]
        .iter()
        .filter_map(|k| resolved.get(*k).and_then(Value::as_array))
        .flatten()
        .collect();
    if members.is_empty() {
        return vec![(resolved, description(resolved).map(one_line))];
    }
    let mut found = Vec::new();
    for member in members {
        let mut inner = alternatives(schema, member);
        let own = description(member).map(one_line);
        if inner.len() == 1 {
            let (form, form_doc) = inner.remove(0);
            let doc = match (own, form_doc) {
                (Some(own), Some(form_doc)) if own != form_doc => Some(format!("{own} {form_doc}")),
                (own, form_doc) => own.or(form_doc),
            };
            found.push((form, doc));
        } else {
            found.extend(inner);
        }
    }
    found
}

/// `integer`, `"base" | "large" | table`, `array | null`.
fn label(schema: &ParamSchema, node: &Value) -> String {
    let labels: Vec<String> = schema
        .forms(node)
        .into_iter()
        .map(|form| form_label(schema, form))
        .collect();
    let mut unique: Vec<String> = Vec::new();
    for label in labels {
        if !unique.contains(&label) {
            unique.push(label);
        }
    }
    if unique.is_empty() {
        "value".to_string()
    } else {
        unique.join(" | ")
    }
}

fn form_label(schema: &ParamSchema, form: &Value) -> String {
    if let Some(value) = form.get("const") {
        return value.to_string();
    }
    if let Some(values) = form.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if !schema.properties(form).is_empty() {
        return "table".to_string();
    }
    match form.get("type") {
        Some(Value::String(name)) => type_name(name).to_string(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(type_name)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "value".to_string(),
    }
}

fn type_name(json_type: &str) -> &str {
    if json_type == "object" {
        "table"
    } else {
        json_type
    }
}

fn is_null(form: &Value) -> bool {
    form.get("type").and_then(Value::as_str) == Some("null")
}

fn description(node: &Value) -> Option<&str> {
    node.get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_nested_tables_and_forms() {
        let value = serde_json::json!({
            "type": "object",
            "required": ["model"],
            "properties": {
                "model": { "description": "The size.", "anyOf": [
                    { "$ref": "#/$defs/Preset" },
                    { "description": "Custom sizes.", "$ref": "#/$defs/Dims" }
                ] },
                "extra": { "anyOf": [{ "$ref": "#/$defs/Dims" }, { "type": "null" }], "default": null },
                "seed": { "type": ["integer", "null"], "description": "A seed." }
            },
            "$defs": {
                "Preset": { "oneOf": [
                    { "type": "string", "const": "base", "description": "The base size." },
                    { "type": "string", "const": "large", "description": "The large size." }
                ] },
                "Dims": {
                    "type": "object", "description": "Sizes.", "required": ["depth"],
                    "properties": { "depth": { "type": "integer", "description": "Layers. Reference: `encoder_layers`." } }
                }
            }
        });
        let schema = ParamSchema::new(schemars::Schema::try_from(value).unwrap());
        let text = render(&schema, 4);
        let expected = r#"    extra: table | null = null
        Sizes.
        depth: integer (required)
            Layers. Reference: `encoder_layers`.
    model: "base" | "large" | table (required)
        The size.
        one of:
          "base": The base size.
          "large": The large size.
          table: Custom sizes. Sizes.
            depth: integer (required)
                Layers. Reference: `encoder_layers`.
    seed: integer | null
        A seed.
"#;
        assert_eq!(text, expected);
    }
}
