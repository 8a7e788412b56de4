//! Input references: `@stage`, `@stage/path/in/output`, `@train[seed=1]/model.bin`, or a path
//! relative to the project root.

use crate::manifest::value::{SKind, SValue};

/// A parsed input reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// Another stage's output: every instance of `stage` (or the one selected), and a path inside
    /// its output directory (empty for the whole directory).
    Output {
        stage: String,
        selector: Option<String>,
        subpath: String,
    },
    /// A file or folder, relative to the project root (or absolute).
    Path(String),
}

/// Parses one reference string.
pub fn parse(text: &str) -> Result<Reference, String> {
    let Some(rest) = text.strip_prefix('@') else {
        if text.trim().is_empty() {
            return Err("empty input path".to_string());
        }
        return Ok(Reference::Path(text.to_string()));
    };
    let name_end = rest.find(['[', '/']).unwrap_or(rest.len());
    let stage = &rest[..name_end];
    if !crate::manifest::valid_name(stage) {
        return Err(format!(
            "`{text}` does not name a stage: write `@stage` or `@stage/path`"
        ));
    }
    let mut after = &rest[name_end..];
    let mut selector = None;
    if let Some(inner) = after.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| format!("unclosed `[` in `{text}`"))?;
        selector = Some(normalize_selector(&inner[..close])?);
        after = &inner[close + 1..];
    }
    let subpath = match after {
        "" => String::new(),
        _ => after
            .strip_prefix('/')
            .ok_or_else(|| format!("unexpected `{after}` in `{text}`: write `@stage/path`"))?
            .trim_end_matches('/')
            .to_string(),
    };
    if !subpath.is_empty() {
        pipeline_api::check_relative(&subpath).map_err(|e| e.to_string())?;
    }
    Ok(Reference::Output {
        stage: stage.to_string(),
        selector,
        subpath,
    })
}

/// Why `@stage[selector]` selects no instance of `stage`, whose `[stage.NAME]` table has the
/// given `matrix` (if any): `(message, hint)`. `selector` is normalized (see [`parse`]).
pub fn explain_no_instance(
    stage: &str,
    selector: &str,
    matrix: Option<&SValue>,
) -> (String, String) {
    let axes: Vec<(&str, Vec<String>)> = matrix
        .and_then(SValue::as_table)
        .unwrap_or_default()
        .iter()
        .map(|axis| (axis.key.as_str(), axis_values(&axis.value)))
        .collect();
    let example = || {
        axes.iter()
            .map(|(key, values)| format!("{key}={}", values.first().map_or("...", String::as_str)))
            .collect::<Vec<_>>()
            .join(",")
    };
    if axes.is_empty() {
        return (
            format!("stage `{stage}` has no matrix, so `[{selector}]` selects nothing"),
            format!("write `@{stage}`"),
        );
    }
    let listed = axes
        .iter()
        .map(|(key, _)| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let chosen: Vec<(&str, &str)> = selector
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    if let Some((key, _)) = chosen
        .iter()
        .find(|(key, _)| !axes.iter().any(|(axis, _)| axis == key))
    {
        return (
            format!("stage `{stage}` has no axis `{key}`; its matrix axes: {listed}"),
            format!("select one value of each axis: `@{stage}[{}]`", example()),
        );
    }
    if let Some((axis, _)) = axes
        .iter()
        .find(|(axis, _)| !chosen.iter().any(|(key, _)| key == axis))
    {
        return (
            format!(
                "`[{selector}]` gives no value for axis `{axis}` of stage `{stage}` (its axes: {listed})"
            ),
            format!("select one value of each axis: `@{stage}[{}]`", example()),
        );
    }
    for (key, value) in chosen {
        if let Some((_, values)) = axes
            .iter()
            .find(|(axis, values)| *axis == key && !values.iter().any(|v| v == value))
        {
            return (
                format!("stage `{stage}` has no instance with `{key}` = {value}"),
                format!("the values of `{key}`: {}", values.join(", ")),
            );
        }
    }
    (
        format!("`[{selector}]` selects no instance of stage `{stage}`"),
        format!("select one value of each axis: `@{stage}[{}]`", example()),
    )
}

/// The values of one matrix axis, as instance names show them.
fn axis_values(axis: &SValue) -> Vec<String> {
    match &axis.kind {
        SKind::Array(values) => values.iter().map(SValue::display).collect(),
        _ => Vec::new(),
    }
}

/// `seed=1, lr=2e-5` -> `lr=2e-5,seed=1`, the order instance names use.
fn normalize_selector(selector: &str) -> Result<String, String> {
    let mut pairs = Vec::new();
    for pair in selector.split(',') {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}` in `[{selector}]` is not `axis=value`"))?;
        pairs.push(format!("{}={}", key.trim(), value.trim()));
    }
    pairs.sort();
    Ok(pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            parse("data/x.json"),
            Ok(Reference::Path("data/x.json".into()))
        );
        assert_eq!(
            parse("@train"),
            Ok(Reference::Output {
                stage: "train".into(),
                selector: None,
                subpath: String::new()
            })
        );
        assert_eq!(
            parse("@train[seed=1, lr=2e-5]/model.bin"),
            Ok(Reference::Output {
                stage: "train".into(),
                selector: Some("lr=2e-5,seed=1".into()),
                subpath: "model.bin".into()
            })
        );
        assert!(parse("@train/../x").is_err());
        assert!(parse("@").is_err());
    }

    #[test]
    fn says_why_a_selector_selects_nothing() {
        let document =
            crate::manifest::value::parse_document("matrix = { n = [1, 2], lr = [\"a\"] }")
                .expect("valid TOML");
        let matrix = &document.get("matrix").expect("a matrix").value;
        let explain = |selector: &str| explain_no_instance("count", selector, Some(matrix)).0;
        assert!(
            explain("m=1").contains("stage `count` has no axis `m`; its matrix axes: `n`, `lr`"),
            "{}",
            explain("m=1")
        );
        assert!(
            explain("n=1").contains("no value for axis `lr`"),
            "{}",
            explain("n=1")
        );
        assert!(
            explain("lr=a,n=3").contains("no instance with `n` = 3"),
            "{}",
            explain("lr=a,n=3")
        );
        assert!(
            explain_no_instance("prepare", "n=1", None)
                .0
                .contains("has no matrix")
        );
    }
}
