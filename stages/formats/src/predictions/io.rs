//! Reading and writing prediction folders (the format is described in [`super`]).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use pipeline_api::StageError;
use polars::prelude::*;

use super::{
    META_FILE, Meta, PREDICTIONS_FILE, PROB_COLUMNS, PredictionFolder, Predictions,
    SUBMISSION_FILE, letter, letter_index,
};
use crate::json::write_json;
use crate::table::{float_column, read_parquet, string_column};

/// Reads and checks the prediction folder at `folder`.
pub fn read_folder(folder: &Path) -> Result<PredictionFolder, StageError> {
    if !folder.is_dir() {
        return Err(StageError::failed(format!(
            "`{}` is not a folder: bind the whole prediction output (`@predict`), not one of its files",
            folder.display()
        )));
    }
    let table = folder.join(PREDICTIONS_FILE);
    let predictions = read_predictions(&table)?;
    predictions.check(&table)?;
    let meta_path = folder.join(META_FILE);
    let text = std::fs::read_to_string(&meta_path)
        .map_err(|e| StageError::io(format!("reading `{}`", meta_path.display()), e))?;
    let raw: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| StageError::caused(format!("`{}`: not valid JSON", meta_path.display()), e))?;
    let meta = Meta::from_json(raw, &meta_path)?;
    Ok(PredictionFolder {
        path: folder.to_path_buf(),
        predictions,
        meta,
    })
}

/// Reads `predictions.parquet` without checking the format's rules.
pub fn read_predictions(path: &Path) -> Result<Predictions, StageError> {
    let frame = read_parquet(path)?;
    let ids = string_column(&frame, "ID", path)?;
    let mut columns = Vec::with_capacity(4);
    for name in PROB_COLUMNS {
        columns.push(float_column(&frame, name, path)?);
    }
    let probs = (0..ids.len())
        .map(|row| std::array::from_fn(|k| columns[k][row]))
        .collect();
    let letters = string_column(&frame, "pred", path)?;
    let mut pred = Vec::with_capacity(letters.len());
    for (row, text) in letters.iter().enumerate() {
        pred.push(letter_index(text).ok_or_else(|| {
            StageError::failed(format!(
                "`{}`: row {} (ID `{}`) has pred = `{text}`: write one of A, B, C, D",
                path.display(),
                row + 1,
                ids[row]
            ))
        })?);
    }
    Ok(Predictions { ids, probs, pred })
}

/// Writes `predictions.parquet`, `submission.csv` and `meta.json` into `out_dir`.
pub fn write_folder(
    out_dir: &Path,
    predictions: &Predictions,
    meta: &serde_json::Value,
) -> Result<(), StageError> {
    let ids =
        || StringChunked::from_iter_values("ID".into(), predictions.ids.iter().map(String::as_str));
    let letters = || predictions.pred.iter().map(|index| letter(*index));
    let mut columns = vec![ids().into_column()];
    for (k, name) in PROB_COLUMNS.iter().enumerate() {
        let values: Vec<f32> = predictions.probs.iter().map(|row| row[k]).collect();
        columns.push(Float32Chunked::from_vec((*name).into(), values).into_column());
    }
    columns.push(StringChunked::from_iter_values("pred".into(), letters()).into_column());
    let mut frame = frame_of(predictions.len(), columns)?;
    let path = out_dir.join(PREDICTIONS_FILE);
    ParquetWriter::new(BufWriter::new(create(&path)?))
        .finish(&mut frame)
        .map_err(|e| StageError::caused(format!("writing `{}`", path.display()), e))?;

    let path = out_dir.join(SUBMISSION_FILE);
    std::fs::write(&path, submission_csv(predictions))
        .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))?;

    write_json(&out_dir.join(META_FILE), meta)
}

/// The text of `submission.csv`: header `ID,answer`, then one line per row in order, each ID
/// exactly as predicted (quoted where a CSV reader would otherwise change it; see
/// [`csv_field`]) and the chosen letter. Lines end with `\n`.
pub fn submission_csv(predictions: &Predictions) -> String {
    let mut text = String::from("ID,answer\n");
    for (id, pred) in predictions.ids.iter().zip(&predictions.pred) {
        text.push_str(&csv_field(id));
        text.push(',');
        text.push_str(letter(*pred));
        text.push('\n');
    }
    text
}

/// `text` as one CSV field: in quotes, with `"` doubled, when it holds a comma, a quote or a line
/// break, starts or ends with whitespace (which readers that trim unquoted fields would drop), or
/// is empty; otherwise as it is. Non-ASCII text is written as UTF-8, unchanged.
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    let needs_quotes = text.is_empty()
        || text.contains([',', '"', '\r', '\n'])
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace);
    if needs_quotes {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn frame_of(height: usize, columns: Vec<Column>) -> Result<DataFrame, StageError> {
    DataFrame::new(height, columns).map_err(|e| StageError::caused("building a table", e))
}

fn create(path: &Path) -> Result<File, StageError> {
    File::create(path).map_err(|e| StageError::io(format!("creating `{}`", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_ids_are_kept_exactly_and_quoted_where_needed() {
        let ids = [
            "Q,1",
            "say \"hi\"",
            "질문-3 é",
            " padded ",
            "plain",
            "two\nlines",
        ];
        let predictions = Predictions::from_probs(
            ids.iter().map(|id| (*id).to_string()).collect(),
            vec![[0.7, 0.1, 0.1, 0.1]; ids.len()],
        );
        assert_eq!(
            submission_csv(&predictions),
            "ID,answer\n\"Q,1\",A\n\"say \"\"hi\"\"\",A\n질문-3 é,A\n\" padded \",A\nplain,A\n\"two\nlines\",A\n"
        );
    }
}
