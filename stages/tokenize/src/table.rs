//! The question tables the stages read: Parquet with columns `ID`, `img_path`, `Question`, `A`,
//! `B`, `C`, `D` and optionally `answer` (a letter `A`-`D`; null on every row, as `mc_table`
//! writes a CSV without answers, means no answers), as the visual7w stage writes them.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

/// The option columns, in label order.
pub const OPTIONS: [&str; 4] = ["A", "B", "C", "D"];

/// One split's questions.
pub struct QuestionTable {
    pub path: PathBuf,
    /// `ID` and `img_path`, passed through unchanged.
    pub id: Column,
    pub img_path: Column,
    pub questions: Vec<String>,
    pub options: Vec<[String; 4]>,
    /// Label 0-3 per question, when the table has `answer`.
    pub labels: Option<Vec<i32>>,
}

impl QuestionTable {
    pub fn len(&self) -> usize {
        self.questions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }
}

/// Reads and checks a table; errors name the file, the column and the row (with its `ID`).
pub fn read(path: &Path) -> Result<QuestionTable, String> {
    let file = File::open(path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    let frame = ParquetReader::new(file)
        .finish()
        .map_err(|e| format!("`{}` is not a readable Parquet file: {e}", path.display()))?;
    let where_ = |what: String| format!("`{}`: {what}", path.display());
    let id = column(&frame, "ID").map_err(where_)?.clone();
    let img_path = column(&frame, "img_path").map_err(where_)?.clone();
    let question_col = strings(&frame, "Question", &id, false).map_err(where_)?;
    let mut option_cols = Vec::with_capacity(4);
    for name in OPTIONS {
        option_cols.push(strings(&frame, name, &id, true).map_err(where_)?);
    }
    let [a, b, c, d]: [Vec<String>; 4] = option_cols.try_into().expect("four option columns");
    let options = a
        .into_iter()
        .zip(b)
        .zip(c)
        .zip(d)
        .map(|(((a, b), c), d)| [a, b, c, d])
        .collect();
    // A table without answers (a contest's test file read by `mc_table`) may carry an `answer`
    // column that is null on every row: it is unlabelled, not broken.
    let labels = match frame.column("answer") {
        Ok(answers) if answers.null_count() < answers.len() || answers.is_empty() => {
            Some(labels(&frame, &id).map_err(where_)?)
        }
        _ => None,
    };
    Ok(QuestionTable {
        path: path.to_path_buf(),
        id,
        img_path,
        questions: question_col,
        options,
        labels,
    })
}

fn column<'a>(frame: &'a DataFrame, name: &str) -> Result<&'a Column, String> {
    frame.column(name).map_err(|_| {
        let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
        format!(
            "has no `{name}` column (it has {names:?}); the table needs ID, img_path, Question, A, B, C, D \
             and optionally answer"
        )
    })
}

/// A row's `ID` as text, for messages.
fn row_name(id: &Column, row: usize) -> String {
    match id.get(row) {
        Ok(value) => format!("row {row} (ID {value})"),
        Err(_) => format!("row {row}"),
    }
}

/// A text column; nulls are refused, and empty strings too unless `allow_empty`.
fn strings(
    frame: &DataFrame,
    name: &str,
    id: &Column,
    allow_empty: bool,
) -> Result<Vec<String>, String> {
    let col = column(frame, name)?;
    let text = col.str().map_err(|_| {
        format!(
            "column `{name}` holds {} where text is expected",
            col.dtype()
        )
    })?;
    let mut out = Vec::with_capacity(text.len());
    for (row, value) in text.iter().enumerate() {
        match value {
            None => {
                return Err(format!(
                    "{}: `{name}` is empty (null); fill it in",
                    row_name(id, row)
                ));
            }
            Some(v) if !allow_empty && v.trim().is_empty() => {
                return Err(format!(
                    "{}: `{name}` is blank; every question needs text",
                    row_name(id, row)
                ));
            }
            Some(v) => out.push(v.to_string()),
        }
    }
    Ok(out)
}

/// `answer` letters as labels 0-3.
fn labels(frame: &DataFrame, id: &Column) -> Result<Vec<i32>, String> {
    let answers = strings(frame, "answer", id, true)?;
    answers
        .iter()
        .enumerate()
        .map(|(row, answer)| {
            OPTIONS
                .iter()
                .position(|o| *o == answer.trim())
                .map(|k| k as i32)
                .ok_or_else(|| {
                    format!(
                        "{}: `answer` is {answer:?}; it must be one of A, B, C, D",
                        row_name(id, row)
                    )
                })
        })
        .collect()
}
