//! Contest-style multiple-choice CSV tables (`ID,img_path,Question,A,B,C,D[,answer]`, as in the
//! Samsung SCPC 2025 / DACON files) read into table rows, with every bad row reported by file and
//! line.
//!
//! Text is kept as written: a quoted field keeps every character between its quotes (leading and
//! trailing spaces included); an unquoted field is trimmed of surrounding whitespace, and so are
//! the header names and the `answer` letter (see `csv_text`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use pipeline_api::StageError;

use crate::csv_text::{FieldShape, field_shapes, field_text};
use crate::image_index::ImageIndex;
use crate::table::{LETTERS, McRow};

/// Columns every table must have, in the order they are reported.
const REQUIRED: [&str; 7] = ["ID", "img_path", "Question", "A", "B", "C", "D"];
/// How many bad rows an error message lists before it only counts.
const SHOWN_ERRORS: usize = 20;

/// How to read a table.
pub struct CsvOptions<'a> {
    /// Removed from the start of every `img_path` (after `./`), so paths become relative to the
    /// images folder, e.g. `test_input_images/`.
    pub strip_prefix: Option<&'a str>,
}

/// The rows of a table and whether it had an `answer` column.
pub struct CsvTable {
    pub rows: Vec<McRow<'static>>,
    pub has_answer: bool,
}

/// Reads the whole table. Checks every row (when `images` is given, that its image exists) and
/// fails with the list of bad rows.
pub fn read_mc_csv(
    path: &Path,
    options: &CsvOptions<'_>,
    mut images: Option<&mut ImageIndex>,
) -> Result<CsvTable, StageError> {
    let bytes = std::fs::read(path)
        .map_err(|e| StageError::io(format!("reading `{}`", path.display()), e))?;
    if is_blank(&bytes) {
        return Err(StageError::failed(format!(
            "{}: the file is empty; a multiple-choice table needs a header line {} (and \
             optionally answer) and one row per question: check that input `table` names the \
             right file and that it was saved completely",
            path.display(),
            REQUIRED.join(",")
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
    let columns = Columns::find(&headers, path)?;
    let mut table = CsvTable {
        rows: Vec::new(),
        has_answer: columns.answer.is_some(),
    };
    let mut problems = Problems::new(path);
    let mut first_line_of_id: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) if is_row_error(&error) => {
                let (line, what) = describe_csv_error(&error);
                problems.add(line, what);
                continue;
            }
            Err(error) => return Err(csv_error(path, &error)),
        }
        let raw = raw_record(&bytes, start, reader.position().byte());
        let line = record.position().map_or(0, csv::Position::line);
        match columns.row(&record, &field_shapes(raw), options) {
            Ok(row) => {
                if let Some(first) = first_line_of_id.insert(row.id.clone(), line) {
                    problems.add(
                        line,
                        format!("duplicate ID `{}` (first on line {first})", row.id),
                    );
                } else if let Some(index) = images.as_deref_mut()
                    && !index.contains(&row.img_path)?
                {
                    problems.add(
                        line,
                        format!("image `{}` is not in the images input", row.img_path),
                    );
                } else {
                    table.rows.push(row);
                }
            }
            Err(problem) => problems.add(line, problem),
        }
    }
    problems.into_result()?;
    if table.rows.is_empty() {
        return Err(StageError::failed(format!(
            "{}:1: the table has a header but no rows, so no questions; add one row per \
             question under the header, or bind input `table` to the file that has them",
            path.display()
        )));
    }
    Ok(table)
}

/// Whether the file holds nothing but whitespace (and a UTF-8 byte order mark).
fn is_blank(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    text.iter().all(u8::is_ascii_whitespace)
}

/// The bytes the reader consumed for one record (`start..end`, clamped to the file).
fn raw_record(bytes: &[u8], start: u64, end: u64) -> &[u8] {
    let clamp = |offset: u64| usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
    let (start, end) = (clamp(start), clamp(end));
    &bytes[start.min(end)..end]
}

/// Where each column is in the header.
struct Columns {
    required: [usize; 7],
    answer: Option<usize>,
}

impl Columns {
    fn find(headers: &csv::StringRecord, path: &Path) -> Result<Self, StageError> {
        let names: Vec<&str> = headers
            .iter()
            .map(|name| name.trim_start_matches('\u{feff}').trim())
            .collect();
        let position = |wanted: &str| {
            names
                .iter()
                .position(|name| name.eq_ignore_ascii_case(wanted))
        };
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|name| position(name).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(StageError::failed(format!(
                "{}:1: missing column(s) {}; the header has {}; a multiple-choice table needs \
                 ID,img_path,Question,A,B,C,D and optionally answer",
                path.display(),
                missing.join(", "),
                names.join(",")
            )));
        }
        let required = REQUIRED.map(|name| position(name).unwrap_or_default());
        Ok(Self {
            required,
            answer: position("answer"),
        })
    }

    /// One row, or what is wrong with it. `shapes` says which fields were quoted (see
    /// `csv_text::field_text` for what is kept).
    fn row(
        &self,
        record: &csv::StringRecord,
        shapes: &[FieldShape],
        options: &CsvOptions<'_>,
    ) -> Result<McRow<'static>, String> {
        // Shapes that do not match the parsed fields (never expected) keep the parsed text.
        let shapes_match = shapes.len() == record.len();
        let text = |column: usize| {
            let shape = shapes.get(column).copied().filter(|_| shapes_match);
            field_text(record.get(column).unwrap_or_default(), shape)
        };
        let field = |column: usize, name: &str| -> Result<String, String> {
            let value = text(self.required[column]);
            if value.trim().is_empty() {
                Err(format!("empty {name}"))
            } else {
                Ok(value.to_string())
            }
        };
        let id = field(0, "ID")?;
        let img_path = normalize_path(&field(1, "img_path")?, options.strip_prefix)?;
        let answer = match self.answer.map(|column| text(column).trim()) {
            None | Some("") => None,
            Some(letter) => Some(parse_letter(letter)?),
        };
        Ok(McRow {
            id,
            img_path: Cow::Owned(img_path),
            question: Cow::Owned(field(2, "Question")?),
            options: [
                field(3, "A")?,
                field(4, "B")?,
                field(5, "C")?,
                field(6, "D")?,
            ]
            .map(Cow::Owned),
            answer,
            qa_id: None,
            image_id: None,
            qa_type: None,
        })
    }
}

/// `./dir\x.jpg` to `dir/x.jpg`, minus `strip_prefix`; refuses absolute and escaping paths.
fn normalize_path(raw: &str, strip_prefix: Option<&str>) -> Result<String, String> {
    let posix = raw.replace('\\', "/");
    let mut path = posix.as_str();
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    if let Some(prefix) = strip_prefix {
        path = path
            .strip_prefix(prefix.trim_start_matches("./"))
            .unwrap_or(path)
            .trim_start_matches('/');
    }
    pipeline_api::check_relative(path).map_err(|e| format!("img_path {e}"))?;
    Ok(path.to_string())
}

fn parse_letter(text: &str) -> Result<u8, String> {
    LETTERS
        .iter()
        .position(|letter| letter.eq_ignore_ascii_case(text))
        .map(|index| index as u8)
        .ok_or_else(|| format!("answer `{text}` is not A, B, C or D"))
}

/// A problem of one row, after which reading can go on.
fn is_row_error(error: &csv::Error) -> bool {
    matches!(
        error.kind(),
        csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
    )
}

fn csv_error(path: &Path, error: &csv::Error) -> StageError {
    let (line, what) = describe_csv_error(error);
    StageError::failed(format!("{}:{line}: {what}", path.display()))
}

/// The line of a CSV error and what it means for the user.
fn describe_csv_error(error: &csv::Error) -> (u64, String) {
    let line = error.position().map_or(0, csv::Position::line);
    let what = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!(
                "the row has {len} fields where the header has {expected_len} (a comma inside an unquoted field?)"
            )
        }
        csv::ErrorKind::Utf8 { .. } => {
            "the row is not valid UTF-8: save the file as UTF-8".to_string()
        }
        _ => error.to_string(),
    };
    (line, what)
}

/// Bad rows, collected so that one run reports all of them.
struct Problems<'a> {
    path: &'a Path,
    lines: Vec<String>,
    count: usize,
}

impl<'a> Problems<'a> {
    fn new(path: &'a Path) -> Self {
        Self {
            path,
            lines: Vec::new(),
            count: 0,
        }
    }

    fn add(&mut self, line: u64, problem: String) {
        self.count += 1;
        if self.lines.len() < SHOWN_ERRORS {
            self.lines
                .push(format!("{}:{line}: {problem}", self.path.display()));
        }
    }

    fn into_result(self) -> Result<(), StageError> {
        if self.count == 0 {
            return Ok(());
        }
        let more = self.count - self.lines.len();
        let tail = if more > 0 {
            format!("\n... and {more} more")
        } else {
            String::new()
        };
        Err(StageError::failed(format!(
            "{} bad row(s) in `{}`; fix them and run again:\n{}{tail}",
            self.count,
            self.path.display(),
            self.lines.join("\n")
        )))
    }
}
