//! Input references: `@stage`, `@stage/path/in/output`, `@train[seed=1]/model.bin`, or a path
//! relative to the project root.

/// A parsed input reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// Another stage's output: every instance of `stage` (or the one selected), and a path inside
    /// its output directory (empty for the whole directory).
    Output { stage: String, selector: Option<String>, subpath: String },
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
        return Err(format!("`{text}` does not name a stage: write `@stage` or `@stage/path`"));
    }
    let mut after = &rest[name_end..];
    let mut selector = None;
    if let Some(inner) = after.strip_prefix('[') {
        let close = inner.find(']').ok_or_else(|| format!("unclosed `[` in `{text}`"))?;
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
    Ok(Reference::Output { stage: stage.to_string(), selector, subpath })
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
        assert_eq!(parse("data/x.json"), Ok(Reference::Path("data/x.json".into())));
        assert_eq!(
            parse("@train"),
            Ok(Reference::Output { stage: "train".into(), selector: None, subpath: String::new() })
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
}
