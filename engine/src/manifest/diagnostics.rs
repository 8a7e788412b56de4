//! Errors that point into a manifest: file, line, column, the offending text and a hint.

use std::collections::HashMap;
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
    /// For a problem found while expanding or binding the instances of a stage table: which
    /// table, and in how many of its instances (see [`Diagnostics::fold_instance`]).
    pub instances: Option<InstanceCount>,
}

/// The instances of one stage table that share a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceCount {
    /// The `[stage.NAME]` table.
    pub stage: String,
    pub count: usize,
    /// Whether the other instances' messages differ from the one shown (in their values).
    pub varied: bool,
}

impl Diagnostic {
    pub fn new(
        source: &SourceFile,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            source: source.clone(),
            span,
            message: message.into(),
            hint: None,
            instances: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn position(&self) -> Option<(usize, usize)> {
        self.span
            .as_ref()
            .map(|span| self.source.line_col(span.start))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        match &self.instances {
            Some(InstanceCount {
                stage,
                count,
                varied: false,
            }) if *count > 1 => writeln!(f, " (in {count} instances of `{stage}`)")?,
            Some(InstanceCount {
                stage,
                count,
                varied: true,
            }) => writeln!(f, " (and in {} other instances of `{stage}`)", count - 1)?,
            _ => writeln!(f)?,
        }
        let path = self.source.path.display();
        // The gutter is as wide as the line number; `|` and `=` stand one column right of it.
        let mut gutter = " ".to_string();
        match (self.position(), &self.span) {
            (Some((line, column)), Some(span)) => {
                gutter = " ".repeat(line.to_string().len());
                writeln!(f, "{gutter} --> {path}:{line}:{column}")?;
                let text = self.source.line_text(line);
                let width = self.source.text[span.clone()]
                    .lines()
                    .next()
                    .map_or(1, |first| first.chars().count().max(1));
                writeln!(f, "{gutter} |")?;
                writeln!(f, "{line} | {text}")?;
                writeln!(
                    f,
                    "{gutter} | {}{}",
                    " ".repeat(column - 1),
                    "^".repeat(width)
                )?;
            }
            _ => writeln!(f, "{gutter} --> {path}")?,
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "{gutter} = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one pass, sorted by position. The second field indexes the
/// diagnostics of stage instances already folded, by [`FoldKey`].
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>, HashMap<FoldKey, usize>);

/// Stage table, span, and rank among that instance's diagnostics at the same span.
type FoldKey = (String, Option<(usize, usize)>, usize);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// How many diagnostics are held; pass it to [`Self::fold_instance`] after the next instance.
    pub fn mark(&self) -> usize {
        self.0.len()
    }

    /// Files the diagnostics pushed since `mark` under an instance of stage table `stage`: each
    /// one found at the same place in an earlier instance of that table is counted there instead
    /// of kept, so a problem shared by a million instances is reported once, with its count.
    pub fn fold_instance(&mut self, mark: usize, stage: &str) {
        let new: Vec<Diagnostic> = self.0.drain(mark.min(self.0.len())..).collect();
        let mut rank: HashMap<Option<(usize, usize)>, usize> = HashMap::new();
        for mut diagnostic in new {
            let span = diagnostic.span.as_ref().map(|s| (s.start, s.end));
            let nth = rank.entry(span).or_default();
            let key = (stage.to_string(), span, *nth);
            *nth += 1;
            if let Some(&earlier) = self.1.get(&key) {
                let earlier = &mut self.0[earlier];
                let varied = earlier.message != diagnostic.message;
                if let Some(count) = &mut earlier.instances {
                    count.count += 1;
                    count.varied |= varied;
                }
                continue;
            }
            diagnostic.instances = Some(InstanceCount {
                stage: stage.to_string(),
                count: 1,
                varied: false,
            });
            self.1.insert(key, self.0.len());
            self.0.push(diagnostic);
        }
    }

    /// `Err(self)` when anything was found.
    pub fn into_result(mut self) -> Result<(), Diagnostics> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.1.clear();
        self.0.sort_by(|a, b| {
            (&a.source.path, a.span.as_ref().map_or(0, |s| s.start))
                .cmp(&(&b.source.path, b.span.as_ref().map_or(0, |s| s.start)))
        });
        Err(self)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{diagnostic}")?;
        }
        let count = self.0.len();
        write!(
            f,
            "{count} error{} in the manifest; nothing was run",
            if count == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Diagnostics {}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
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
        assert_eq!(
            did_you_mean("exce", ["exec", "copy", "publish"]),
            Some("exec")
        );
        assert_eq!(did_you_mean("zzzz", ["exec", "copy"]), None);
    }

    #[test]
    fn renders_position_and_caret() {
        let source = SourceFile {
            path: "p.toml".into(),
            text: "a = 1\nkind = \"exce\"\n".into(),
        };
        let d = Diagnostic::new(&source, Some(13..19), "unknown kind")
            .with_hint("did you mean `exec`?");
        let text = d.to_string();
        assert!(text.contains("--> p.toml:2:8"), "{text}");
        assert!(text.contains("2 | kind = \"exce\""), "{text}");
        assert!(text.contains("  |        ^^^^^^"), "{text}");
    }

    fn source() -> SourceFile {
        SourceFile {
            path: "p.toml".into(),
            text: "[stage.t]\nkind = 1\npath = 2\n".into(),
        }
    }

    #[test]
    fn a_problem_shared_by_instances_is_reported_once_with_its_count() {
        let source = source();
        let mut all = Diagnostics::default();
        for instance in 0..1000 {
            let mark = all.mark();
            all.push(Diagnostic::new(
                &source,
                Some(17..18),
                "`kind` must be a string",
            ));
            all.push(Diagnostic::new(
                &source,
                Some(26..27),
                format!("bad path in t[i={instance}]"),
            ));
            all.fold_instance(mark, "t");
        }
        assert_eq!(all.0.len(), 2);
        let text = all.into_result().expect_err("errors").to_string();
        assert!(
            text.contains("error: `kind` must be a string (in 1000 instances of `t`)"),
            "{text}"
        );
        assert!(
            text.contains("error: bad path in t[i=0] (and in 999 other instances of `t`)"),
            "{text}"
        );
        assert!(
            text.ends_with("2 errors in the manifest; nothing was run"),
            "{text}"
        );
    }

    #[test]
    fn instances_of_different_tables_are_not_folded_together() {
        let source = source();
        let mut all = Diagnostics::default();
        for stage in ["a", "b"] {
            let mark = all.mark();
            all.push(Diagnostic::new(
                &source,
                Some(17..18),
                "`kind` must be a string",
            ));
            all.push(Diagnostic::new(
                &source,
                Some(17..18),
                "second problem at the same place",
            ));
            all.fold_instance(mark, stage);
        }
        assert_eq!(all.0.len(), 4);
        assert!(!all.to_string().contains("instances of"));
    }
}
