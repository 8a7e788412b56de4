//! The multiple-choice table every stage of this crate writes, and how it is written.
//!
//! Columns, in order: `ID`, `img_path` (relative to the images folder, posix separators),
//! `Question`, `A`, `B`, `C`, `D`, `answer` (a letter, null when unknown), `qa_id`, `image_id`
//! (Int64, null when unknown), `type` (what/where/when/who/why/how, null when unknown).

use std::borrow::Cow;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use pipeline_api::StageError;
use polars::prelude::*;

/// The option letters, in column order.
pub const LETTERS: [&str; 4] = ["A", "B", "C", "D"];

/// One question of the table.
#[derive(Debug, Clone)]
pub struct McRow<'a> {
    pub id: String,
    pub img_path: Cow<'a, str>,
    pub question: Cow<'a, str>,
    pub options: [Cow<'a, str>; 4],
    /// Index of the correct option (0 = A), when known.
    pub answer: Option<u8>,
    pub qa_id: Option<i64>,
    pub image_id: Option<i64>,
    pub qa_type: Option<Cow<'a, str>>,
}

/// The rows as a polars frame with the column layout above.
pub fn to_frame(rows: &[McRow<'_>]) -> Result<DataFrame, StageError> {
    let mut columns = vec![
        text_column("ID", rows, |row| &row.id),
        text_column("img_path", rows, |row| &row.img_path),
        text_column("Question", rows, |row| &row.question),
    ];
    for (index, letter) in LETTERS.iter().enumerate() {
        columns.push(text_column(letter, rows, |row| &row.options[index]));
    }
    let answers = rows
        .iter()
        .map(|row| row.answer.map(|index| LETTERS[usize::from(index)]));
    columns.push(StringChunked::from_iter_options("answer".into(), answers).into_column());
    let qa_ids = rows.iter().map(|row| row.qa_id);
    columns.push(Int64Chunked::from_iter_options("qa_id".into(), qa_ids).into_column());
    let image_ids = rows.iter().map(|row| row.image_id);
    columns.push(Int64Chunked::from_iter_options("image_id".into(), image_ids).into_column());
    let types = rows.iter().map(|row| row.qa_type.as_deref());
    columns.push(StringChunked::from_iter_options("type".into(), types).into_column());
    DataFrame::new(rows.len(), columns).map_err(|e| StageError::caused("building the table", e))
}

fn text_column<'r, 'a: 'r>(
    name: &str,
    rows: &'r [McRow<'a>],
    get: impl Fn(&'r McRow<'a>) -> &'r str,
) -> Column {
    StringChunked::from_iter_values(name.into(), rows.iter().map(get)).into_column()
}

/// Writes `frame` as Parquet (zstd) at `path`.
pub fn write_parquet(frame: &mut DataFrame, path: &Path) -> Result<(), StageError> {
    let file = create(path)?;
    ParquetWriter::new(BufWriter::new(file))
        .finish(frame)
        .map_err(|e| StageError::caused(format!("writing `{}`", path.display()), e))?;
    Ok(())
}

/// Writes `frame` as CSV with a header row at `path`; nulls are empty fields.
pub fn write_csv(frame: &mut DataFrame, path: &Path) -> Result<(), StageError> {
    let file = create(path)?;
    CsvWriter::new(BufWriter::new(file))
        .include_header(true)
        .finish(frame)
        .map_err(|e| StageError::caused(format!("writing `{}`", path.display()), e))
}

/// Writes the rows as `<stem>.parquet`, and as `<stem>.csv` too when `csv` is set.
pub fn write_table(
    rows: &[McRow<'_>],
    out_dir: &Path,
    stem: &str,
    csv: bool,
) -> Result<(), StageError> {
    let mut frame = to_frame(rows)?;
    write_parquet(&mut frame, &out_dir.join(format!("{stem}.parquet")))?;
    if csv {
        write_csv(&mut frame, &out_dir.join(format!("{stem}.csv")))?;
    }
    Ok(())
}

fn create(path: &Path) -> Result<File, StageError> {
    File::create(path).map_err(|e| StageError::io(format!("creating `{}`", path.display()), e))
}
