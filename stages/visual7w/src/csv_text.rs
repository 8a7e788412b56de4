//! CSV fields as text: which fields of a record were quoted (so that quoted text is kept exactly
//! as written while unquoted fields are trimmed), and quoting a field when writing.
//!
//! The `csv` crate gives each field's content but not whether it was quoted, so the raw bytes of
//! a record are scanned again with the same rules (RFC 4180, as `csv` applies them): a field is
//! quoted when its first byte is `"`; inside quotes `""` is a quote and a lone `"` closes; text
//! after the closing quote, up to the comma or the end of the line, is appended unquoted.

use std::borrow::Cow;

/// How one field was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldShape {
    /// The field's first byte was `"`.
    pub quoted: bool,
    /// Spaces and tabs at the end of a quoted field that lay after its closing quote.
    pub trailing_outside: usize,
}

impl FieldShape {
    /// Keeps the parsed value as it is (used when a record's shapes cannot be told).
    const VERBATIM: Self = Self {
        quoted: true,
        trailing_outside: 0,
    };
}

/// The shape of every field of one record, given its raw bytes (which may start with the empty
/// lines the reader skipped and end with the line terminator).
pub fn field_shapes(raw: &[u8]) -> Vec<FieldShape> {
    let mut shapes = Vec::new();
    let mut at = raw
        .iter()
        .position(|byte| !matches!(byte, b'\r' | b'\n'))
        .unwrap_or(raw.len());
    loop {
        let quoted = raw.get(at) == Some(&b'"');
        if quoted {
            at = after_closing_quote(raw, at + 1);
        }
        let mut trailing = 0;
        while let Some(&byte) = raw.get(at) {
            if matches!(byte, b',' | b'\r' | b'\n') {
                break;
            }
            trailing = if matches!(byte, b' ' | b'\t') {
                trailing + 1
            } else {
                0
            };
            at += 1;
        }
        shapes.push(FieldShape {
            quoted,
            trailing_outside: if quoted { trailing } else { 0 },
        });
        if raw.get(at) != Some(&b',') {
            return shapes;
        }
        at += 1;
    }
}

/// The position after the quote that closes a quoted field whose text starts at `at`.
fn after_closing_quote(raw: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = raw.get(at) {
        if byte == b'"' {
            if raw.get(at + 1) == Some(&b'"') {
                at += 2;
                continue;
            }
            return at + 1;
        }
        at += 1;
    }
    at
}

/// A field's text under the table rule: a quoted field keeps its text exactly (only spaces and
/// tabs after the closing quote are dropped); an unquoted field is trimmed of surrounding
/// whitespace (`str::trim`). `shape` is `None` when the record's shapes could not be told, and
/// the parsed value is then kept.
pub fn field_text(value: &str, shape: Option<FieldShape>) -> &str {
    let shape = shape.unwrap_or(FieldShape::VERBATIM);
    if !shape.quoted {
        return value.trim();
    }
    // The dropped bytes are ASCII spaces and tabs, so the cut is on a character boundary.
    &value[..value.len().saturating_sub(shape.trailing_outside)]
}

/// `text` as one CSV field: quoted (with `"` doubled) when it holds a comma, a quote or a line
/// break, starts or ends with whitespace, or is empty; otherwise as it is.
pub fn quote_field(text: &str) -> Cow<'_, str> {
    let needs_quotes = text.is_empty()
        || text.contains([',', '"', '\r', '\n'])
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace);
    if needs_quotes {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(shapes: &[FieldShape]) -> Vec<bool> {
        shapes.iter().map(|shape| shape.quoted).collect()
    }

    #[test]
    fn quoted_fields_are_told_apart() {
        let shapes = field_shapes(b"a,\"b, c\",\"say \"\"hi\"\"\",, d ,\"\"\r\n");
        assert_eq!(quoted(&shapes), [false, true, true, false, false, true]);
        assert!(shapes.iter().all(|shape| shape.trailing_outside == 0));
    }

    #[test]
    fn line_breaks_inside_quotes_and_skipped_lines_before_the_record() {
        let shapes = field_shapes(b"\n\n\"two\nlines\",x\n");
        assert_eq!(quoted(&shapes), [true, false]);
        assert_eq!(field_shapes(b"last,\"field\"").len(), 2);
    }

    #[test]
    fn a_space_before_the_quote_makes_the_field_unquoted() {
        let shapes = field_shapes(b"x, \"y\"\n");
        assert_eq!(quoted(&shapes), [false, false]);
    }

    #[test]
    fn spaces_after_the_closing_quote_are_outside() {
        let shapes = field_shapes(b"\" a \"  ,b\n");
        assert_eq!(
            shapes[0],
            FieldShape {
                quoted: true,
                trailing_outside: 2
            }
        );
        assert_eq!(field_text(" a   ", Some(shapes[0])), " a ");
    }

    #[test]
    fn unquoted_text_is_trimmed_and_quoted_text_kept() {
        let plain = FieldShape {
            quoted: false,
            trailing_outside: 0,
        };
        assert_eq!(field_text("  Red \t", Some(plain)), "Red");
        assert_eq!(field_text("  Red ", Some(FieldShape::VERBATIM)), "  Red ");
        assert_eq!(field_text("  Red ", None), "  Red ");
    }

    #[test]
    fn fields_are_quoted_when_a_reader_would_change_them() {
        assert_eq!(quote_field("TEST_001"), "TEST_001");
        assert_eq!(quote_field("질문 3"), "질문 3");
        assert_eq!(quote_field("a, b"), "\"a, b\"");
        assert_eq!(quote_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote_field(" padded"), "\" padded\"");
        assert_eq!(quote_field(""), "\"\"");
        assert_eq!(quote_field("two\nlines"), "\"two\nlines\"");
    }
}
