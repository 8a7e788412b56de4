//! Manifest values that remember where they were written, so every error can point at its text.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A TOML value with the byte range of its text in the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct SValue {
    pub span: Range<usize>,
    pub kind: SKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SKind {
    String(String),
    Integer(i64),
    /// The value and its text as written (`2e-5`), for stable display.
    Float(f64, String),
    Bool(bool),
    Datetime(String),
    Array(Vec<SValue>),
    Table(Vec<Entry>),
}

/// A table entry: key, span of the key, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: SValue,
}

impl SValue {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            SKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&[Entry]> {
        match &self.kind {
            SKind::Table(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry `key` of a table.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.as_table()?.iter().find(|entry| entry.key == key)
    }

    /// A name for the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            SKind::String(_) => "a string",
            SKind::Integer(_) => "an integer",
            SKind::Float(..) => "a float",
            SKind::Bool(_) => "a boolean",
            SKind::Datetime(_) => "a date",
            SKind::Array(_) => "an array",
            SKind::Table(_) => "a table",
        }
    }

    /// Short text for names and messages: strings bare, numbers as written.
    pub fn display(&self) -> String {
        match &self.kind {
            SKind::String(s) => s.clone(),
            SKind::Integer(i) => i.to_string(),
            SKind::Float(_, text) => text.clone(),
            SKind::Bool(b) => b.to_string(),
            SKind::Datetime(d) => d.clone(),
            other => format!(
                "{:?}",
                SValue {
                    span: 0..0,
                    kind: other.clone()
                }
                .to_toml()
            ),
        }
    }

    pub fn to_toml(&self) -> toml::Value {
        match &self.kind {
            SKind::String(s) => toml::Value::String(s.clone()),
            SKind::Integer(i) => toml::Value::Integer(*i),
            SKind::Float(f, _) => toml::Value::Float(*f),
            SKind::Bool(b) => toml::Value::Boolean(*b),
            SKind::Datetime(d) => d
                .parse()
                .map_or_else(|_| toml::Value::String(d.clone()), toml::Value::Datetime),
            SKind::Array(items) => toml::Value::Array(items.iter().map(SValue::to_toml).collect()),
            SKind::Table(entries) => toml::Value::Table(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_toml()))
                    .collect(),
            ),
        }
    }

    /// The span of the value at a serde path such as `optimizer.betas[1]` (or `betas.1`), or the
    /// closest enclosing value that exists.
    pub fn locate(&self, path: &str) -> Range<usize> {
        let mut current = self;
        for segment in path_segments(path) {
            match current.child(segment) {
                Some(value) => current = value,
                None => break,
            }
        }
        current.span.clone()
    }

    /// The value at a serde path such as `architecture.model` or `layers[1]`, if there is one.
    pub fn find(&self, path: &str) -> Option<&SValue> {
        path_segments(path).try_fold(self, |current, segment| current.child(segment))
    }

    fn child(&self, segment: &str) -> Option<&SValue> {
        match &self.kind {
            SKind::Table(entries) => entries.iter().find(|e| e.key == segment).map(|e| &e.value),
            SKind::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
    }
}

fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split(['.', '[', ']']).filter(|s| !s.is_empty())
}

/// Parses a whole manifest into a spanned table.
pub fn parse_document(text: &str) -> Result<SValue, (Option<Range<usize>>, String)> {
    let table =
        DeTable::parse(text).map_err(|error| (error.span(), error.message().to_string()))?;
    Ok(convert_table(&table))
}

fn convert_table(table: &Spanned<DeTable<'_>>) -> SValue {
    let mut entries: Vec<Entry> = table
        .get_ref()
        .iter()
        .map(|(key, value)| Entry {
            key: key.get_ref().to_string(),
            key_span: key.span(),
            value: convert(value),
        })
        .collect();
    entries.sort_by_key(|entry| entry.key_span.start);
    SValue {
        span: table.span(),
        kind: SKind::Table(entries),
    }
}

fn convert(value: &Spanned<DeValue<'_>>) -> SValue {
    let span = value.span();
    let kind = match value.get_ref() {
        DeValue::String(s) => SKind::String(s.to_string()),
        DeValue::Integer(i) => {
            SKind::Integer(i64::from_str_radix(i.as_str(), i.radix()).unwrap_or(i64::MAX))
        }
        DeValue::Float(f) => SKind::Float(
            f.as_str().parse().unwrap_or(f64::NAN),
            f.as_str().to_string(),
        ),
        DeValue::Boolean(b) => SKind::Bool(*b),
        DeValue::Datetime(d) => SKind::Datetime(d.to_string()),
        DeValue::Array(items) => SKind::Array(items.iter().map(convert).collect()),
        DeValue::Table(_) => {
            let table: Spanned<DeTable<'_>> = match value.get_ref() {
                DeValue::Table(t) => Spanned::new(span.clone(), t.clone()),
                _ => unreachable!("matched as a table above"),
            };
            return convert_table(&table);
        }
    };
    SValue { span, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_and_locates_paths() {
        let text = "[stage.a]\nkind = \"exec\"\ncmd = [\"x\", \"y\"]\nlr = 2e-5\n";
        let doc = parse_document(text).unwrap();
        let stage = &doc.get("stage").unwrap().value.get("a").unwrap().value;
        assert_eq!(&text[stage.locate("cmd[1]")], "\"y\"");
        assert_eq!(&text[stage.locate("cmd.1")], "\"y\"");
        assert_eq!(&text[stage.locate("lr")], "2e-5");
        assert_eq!(&text[stage.locate("cmd[7]")], "[\"x\", \"y\"]");
        assert_eq!(stage.find("cmd[1]").and_then(SValue::as_str), Some("y"));
        assert!(stage.find("cmd[7]").is_none());
        assert_eq!(stage.get("lr").unwrap().value.display(), "2e-5");
    }
}
