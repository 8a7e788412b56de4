//! Errors that point into a manifest: file, line, column, the offending text and a hint.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// A manifest's text, kept to render diagnostics.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user named it (relative paths stay relative in messages).
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl SourceFile {
    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line - 1).unwrap_or("")
    }
}

/// One problem found in a manifest.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub source: SourceFile,
    pub span: Option<Range<usize>>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(source: &SourceFile, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Self {
            source: source.clone(),
            span,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn position(&self) -> Option<(usize, usize)> {
        self.span.as_ref().map(|span| self.source.line_col(span.start))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let path = self.source.path.display();
        match (self.position(), &self.span) {
            (Some((line, column)), Some(span)) => {
                writeln!(f, "  --> {path}:{line}:{column}")?;
                let text = self.source.line_text(line);
                let gutter = " ".repeat(line.to_string().len());
                let width = self.source.text[span.clone()]
                    .lines()
                    .next()
                    .map_or(1, |first| first.chars().count().max(1));
                writeln!(f, "{gutter} |")?;
                writeln!(f, "{line} | {text}")?;
                writeln!(f, "{gutter} | {}{}", " ".repeat(column - 1), "^".repeat(width))?;
            }
            _ => writeln!(f, "  --> {path}")?,
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one pass, sorted by position.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Err(self)` when anything was found.
    pub fn into_result(mut self) -> Result<(), Diagnostics> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_by_key(|d| (d.source.path.clone(), d.span.as_ref().map_or(0, |s| s.start)));
        Err(self)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        let count = self.0.len();
        write!(f, "{count} error{} in the manifest; nothing was run", if count == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().max(word.len()) / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("exce", ["exec", "copy", "publish"]), Some("exec"));
        assert_eq!(did_you_mean("zzzz", ["exec", "copy"]), None);
    }

    #[test]
    fn renders_position_and_caret() {
        let source = SourceFile {
            path: "p.toml".into(),
            text: "a = 1\nkind = \"exce\"\n".into(),
        };
        let d = Diagnostic::new(&source, Some(13..19), "unknown kind").with_hint("did you mean `exec`?");
        let text = d.to_string();
        assert!(text.contains("--> p.toml:2:8"), "{text}");
        assert!(text.contains("2 | kind = \"exce\""), "{text}");
        assert!(text.contains("  |        ^^^^^^"), "{text}");
    }
}
