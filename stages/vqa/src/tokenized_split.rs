//! The model inputs of one split, as the `tokenize` stage writes them: `ID`, `img_path`,
//! `input_ids` and `padding_mask` (each `sequences` lists of `max_len` Int32) and, for labelled
//! splits, `label` (0-3). Everything is read into flat arrays once: a split of Visual7W is a few
//! hundred thousand small rows.

use std::path::{Path, PathBuf};

use pipeline_api::StageError;
use pipeline_formats::table::{read_parquet, string_column};
use polars::prelude::*;

/// The rows of one tokenized split.
#[derive(Debug, Clone)]
pub struct TokenizedSplit {
    /// Where they were read from (for messages).
    pub path: PathBuf,
    pub ids: Vec<String>,
    pub img_paths: Vec<String>,
    /// Sequences per question: 4 for the `choice` layout, 1 for `joint`.
    pub sequences: usize,
    /// Tokens per sequence.
    pub max_len: usize,
    /// `len · sequences · max_len` token ids.
    pub tokens: Vec<i32>,
    /// Same shape as `tokens`: 1 where the token is padding.
    pub padding: Vec<i32>,
    /// The answer (0 = A) of each question, when the split is labelled.
    pub labels: Option<Vec<u8>>,
}

impl TokenizedSplit {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Token ids of question `row`: `sequences · max_len` values.
    pub fn tokens_of(&self, row: usize) -> &[i32] {
        let width = self.sequences * self.max_len;
        &self.tokens[row * width..(row + 1) * width]
    }

    /// Padding flags of question `row`, shaped like [`TokenizedSplit::tokens_of`].
    pub fn padding_of(&self, row: usize) -> &[i32] {
        let width = self.sequences * self.max_len;
        &self.padding[row * width..(row + 1) * width]
    }

    /// The label of every row, or an error naming the file when the split has none.
    pub fn require_labels(&self) -> Result<&[u8], StageError> {
        self.labels.as_deref().ok_or_else(|| {
            StageError::failed(format!(
                "`{}` has no `label` column: training and validation need a labelled split",
                self.path.display()
            ))
        })
    }
}

/// `<split>.parquet` inside a tokenize output folder, or the file itself.
pub fn split_file(input: &Path, split: &str) -> PathBuf {
    if input.is_dir() {
        input.join(format!("{split}.parquet"))
    } else {
        input.to_path_buf()
    }
}

/// The split to read from a `data` input and where it is: `split` inside a tokenize output
/// folder, or, when `split` is `None`, the folder's only `<split>.parquet`, or `test` among
/// several (what `predict` scored before it looked; other sets are an error listing them). A file
/// input is the split itself, named by its stem.
pub fn find_split(input: &Path, split: Option<&str>) -> Result<(String, PathBuf), StageError> {
    if !input.is_dir() {
        let stem = input
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        return Ok((split.map_or(stem, str::to_string), input.to_path_buf()));
    }
    if let Some(split) = split {
        return Ok((split.to_string(), split_file(input, split)));
    }
    let splits = splits_in(input)?;
    match splits.as_slice() {
        [only] => Ok((only.clone(), split_file(input, only))),
        several if several.iter().any(|s| s == "test") => {
            Ok(("test".to_string(), split_file(input, "test")))
        }
        [] => Err(StageError::failed(format!(
            "`{}` holds no `<split>.parquet`: bind `data` to a tokenize output",
            input.display()
        ))),
        several => Err(StageError::failed(format!(
            "`{}` holds several splits ({}) and no `test`: say which to use, e.g. `split = \"{}\"`",
            input.display(),
            several.join(", "),
            several[0]
        ))),
    }
}

/// The split names (`<split>.parquet` stems) in a folder, sorted.
fn splits_in(folder: &Path) -> Result<Vec<String>, StageError> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| StageError::io(format!("listing `{}`", folder.display()), e))?;
    let mut splits: Vec<String> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "parquet"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_string()))
        .filter(|stem| !stem.is_empty() && !stem.starts_with('.'))
        .collect();
    splits.sort();
    Ok(splits)
}

/// Reads a tokenized split.
pub fn read(path: &Path) -> Result<TokenizedSplit, StageError> {
    if !path.is_file() {
        return Err(StageError::failed(format!(
            "`{}` does not exist: is the split name right, and did `tokenize` write it?",
            path.display()
        )));
    }
    let frame = read_parquet(path)?;
    let ids = string_column(&frame, "ID", path)?;
    let img_paths = string_column(&frame, "img_path", path)?;
    let (tokens, sequences, max_len) = nested_ints(&frame, "input_ids", path)?;
    let (padding, pad_seqs, pad_len) = nested_ints(&frame, "padding_mask", path)?;
    if (pad_seqs, pad_len) != (sequences, max_len) {
        return Err(StageError::failed(format!(
            "`{}`: padding_mask is {pad_seqs}x{pad_len} per row but input_ids is {sequences}x{max_len}",
            path.display()
        )));
    }
    let labels = read_labels(&frame, path)?;
    Ok(TokenizedSplit {
        path: path.to_path_buf(),
        ids,
        img_paths,
        sequences,
        max_len,
        tokens,
        padding,
        labels,
    })
}

/// A `List(List(Int32))` column flattened, with its (equal) row shape.
fn nested_ints(
    frame: &DataFrame,
    name: &str,
    path: &Path,
) -> Result<(Vec<i32>, usize, usize), StageError> {
    let bad =
        |what: String| StageError::failed(format!("`{}`: column `{name}` {what}", path.display()));
    let column = frame
        .column(name)
        .map_err(|_| bad("is missing: was this file written by `tokenize`?".into()))?;
    let outer = column
        .list()
        .map_err(|_| bad(format!("is {}, not a list of token lists", column.dtype())))?;
    let mut flat = Vec::new();
    let mut shape: Option<(usize, usize)> = None;
    for row in 0..outer.len() {
        let value = outer
            .get_as_series(row)
            .ok_or_else(|| bad(format!("is null in row {}", row + 1)))?;
        let inner = value
            .list()
            .map_err(|_| bad(format!("row {} is not a list of lists", row + 1)))?;
        let sequences = inner.len();
        let mut width = None;
        for s in 0..inner.len() {
            let seq = inner
                .get_as_series(s)
                .ok_or_else(|| bad(format!("has a null sequence in row {}", row + 1)))?;
            let seq = seq.cast(&DataType::Int32).map_err(|e| bad(e.to_string()))?;
            let values = seq.i32().map_err(|e| bad(e.to_string()))?;
            width.get_or_insert(values.len());
            if width != Some(values.len()) {
                return Err(bad(format!(
                    "has sequences of different lengths in row {}",
                    row + 1
                )));
            }
            flat.extend(values.iter().map(|v| v.unwrap_or(0)));
        }
        let this = (sequences, width.unwrap_or(0));
        if *shape.get_or_insert(this) != this {
            return Err(bad(format!(
                "row {} is {}x{}, the first row {}x{}",
                row + 1,
                this.0,
                this.1,
                shape.unwrap().0,
                shape.unwrap().1
            )));
        }
    }
    let (sequences, max_len) = shape.unwrap_or((1, 0));
    Ok((flat, sequences, max_len))
}

fn read_labels(frame: &DataFrame, path: &Path) -> Result<Option<Vec<u8>>, StageError> {
    let Ok(column) = frame.column("label") else {
        return Ok(None);
    };
    let bad =
        |what: String| StageError::failed(format!("`{}`: column `label` {what}", path.display()));
    let ints = column
        .cast(&DataType::Int32)
        .map_err(|e| bad(e.to_string()))?;
    let ints = ints.i32().map_err(|e| bad(e.to_string()))?;
    ints.iter()
        .enumerate()
        .map(|(row, value)| match value {
            Some(v @ 0..=3) => Ok(Some(v as u8)),
            Some(v) => Err(bad(format!(
                "is {v} in row {}: labels are 0-3 (A-D)",
                row + 1
            ))),
            None => Ok(None),
        })
        .collect::<Result<Option<Vec<u8>>, _>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            std::fs::write(dir.path().join(file), b"").unwrap();
        }
        dir
    }

    #[test]
    fn the_only_split_is_found_without_a_name() {
        let dir = folder(&["test.parquet", "report.json"]);
        let (split, path) = find_split(dir.path(), None).unwrap();
        assert_eq!(split, "test");
        assert_eq!(path, dir.path().join("test.parquet"));
        let (split, path) = find_split(dir.path(), Some("val")).unwrap();
        assert_eq!(
            (split.as_str(), path),
            ("val", dir.path().join("val.parquet"))
        );
    }

    #[test]
    fn several_splits_without_a_name_give_test_or_are_listed() {
        let dir = folder(&[
            "val.parquet",
            "train.parquet",
            "test.parquet",
            "report.json",
        ]);
        let (split, path) = find_split(dir.path(), None).unwrap();
        assert_eq!(
            (split.as_str(), path),
            ("test", dir.path().join("test.parquet"))
        );
        let dir = folder(&["val.parquet", "train.parquet"]);
        let error = find_split(dir.path(), None).unwrap_err().to_string();
        assert!(
            error.contains("several splits (train, val) and no `test`")
                && error.contains("split = \"train\""),
            "{error}"
        );
        let error = find_split(folder(&["report.json"]).path(), None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("holds no `<split>.parquet`"), "{error}");
    }

    #[test]
    fn a_file_input_is_its_own_split() {
        let dir = folder(&["contest.parquet"]);
        let file = dir.path().join("contest.parquet");
        assert_eq!(
            find_split(&file, None).unwrap(),
            ("contest".to_string(), file)
        );
    }
}
