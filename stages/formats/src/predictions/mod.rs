//! The prediction format: what a `predict` stage writes and what `ensemble` reads and writes.
//!
//! A prediction output is a folder holding three files:
//!
//! - `predictions.parquet`: one row per question, columns `ID` (string, unique, not null),
//!   `prob_A`, `prob_B`, `prob_C`, `prob_D` (Float32, finite, at least 0, summing to 1 within
//!   1e-3 per row) and `pred` (the chosen letter, `A` to `D`). `pred` must be one of the letters
//!   with the row's highest probability: a model's argmax, or, for a `vote` ensemble whose
//!   probabilities are vote shares, the winner among the tied letters. This rule catches a
//!   producer whose letters and probabilities disagree (an off-by-one option order) before any
//!   score is computed from them.
//! - `submission.csv`: the contest file, header `ID,answer`, one row per question, same order,
//!   each ID exactly as in `predictions.parquet` (quoted where a CSV reader would change it).
//! - `meta.json`: an object with at least `params` (the number of model parameters loaded to make
//!   these predictions, an integer; the contest allows 3B in total) and `model` (free text). Other
//!   keys are kept as the producer wrote them.
//!
//! Wider float columns (Float64) are accepted and narrowed to Float32 when read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pipeline_api::StageError;

mod io;

pub use io::{csv_field, read_folder, read_predictions, submission_csv, write_folder};

/// The option letters, in column order.
pub const LETTERS: [&str; 4] = ["A", "B", "C", "D"];
/// The probability columns, in letter order.
pub const PROB_COLUMNS: [&str; 4] = ["prob_A", "prob_B", "prob_C", "prob_D"];
pub const PREDICTIONS_FILE: &str = "predictions.parquet";
pub const SUBMISSION_FILE: &str = "submission.csv";
pub const META_FILE: &str = "meta.json";
/// How far a row's probabilities may sum from 1.
pub const SUM_TOLERANCE: f32 = 1e-3;
/// How far below the row maximum the probability of `pred` may be (float noise, not a choice).
const PRED_TOLERANCE: f32 = 1e-5;

/// The rows of `predictions.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub ids: Vec<String>,
    pub probs: Vec<[f32; 4]>,
    /// The chosen option of each row (0 = A).
    pub pred: Vec<u8>,
}

impl Predictions {
    /// Rows whose choice is the most probable letter, the earliest on exact ties.
    pub fn from_probs(ids: Vec<String>, probs: Vec<[f32; 4]>) -> Self {
        let pred = probs.iter().map(argmax).collect();
        Self { ids, probs, pred }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Row index of each ID.
    pub fn index(&self) -> HashMap<&str, usize> {
        self.ids
            .iter()
            .enumerate()
            .map(|(row, id)| (id.as_str(), row))
            .collect()
    }

    /// Checks the rules of the format; `source` names the file in messages.
    pub fn check(&self, source: &Path) -> Result<(), StageError> {
        let mut seen = HashMap::with_capacity(self.len());
        for (row, id) in self.ids.iter().enumerate() {
            if let Some(first) = seen.insert(id.as_str(), row) {
                return Err(row_error(
                    source,
                    row,
                    id,
                    &format!("repeats the ID of row {}", first + 1),
                ));
            }
            check_row(&self.probs[row], self.pred[row])
                .map_err(|what| row_error(source, row, id, &what))?;
        }
        Ok(())
    }
}

/// The index of the largest value, the earliest on exact ties.
pub fn argmax(values: &[f32; 4]) -> u8 {
    let mut best = 0;
    for (index, value) in values.iter().enumerate().skip(1) {
        if *value > values[best] {
            best = index;
        }
    }
    best as u8
}

/// The letter of an option index.
pub fn letter(index: u8) -> &'static str {
    LETTERS[usize::from(index)]
}

/// The option index of a letter (`A` to `D`, upper case).
pub fn letter_index(text: &str) -> Option<u8> {
    LETTERS
        .iter()
        .position(|letter| *letter == text)
        .map(|index| index as u8)
}

fn check_row(probs: &[f32; 4], pred: u8) -> Result<(), String> {
    if let Some(bad) = probs.iter().position(|p| !p.is_finite() || *p < 0.0) {
        return Err(format!(
            "has {} = {}: probabilities must be finite and at least 0",
            PROB_COLUMNS[bad], probs[bad]
        ));
    }
    let sum: f32 = probs.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(format!(
            "has probabilities summing to {sum}, not 1: write softmax outputs"
        ));
    }
    let max = probs.iter().copied().fold(0.0, f32::max);
    if probs[usize::from(pred)] < max - PRED_TOLERANCE {
        return Err(format!(
            "has pred = {} but prob_{} = {} is below the row's highest probability {max}: pred must be the argmax",
            letter(pred),
            letter(pred),
            probs[usize::from(pred)]
        ));
    }
    Ok(())
}

fn row_error(source: &Path, row: usize, id: &str, what: &str) -> StageError {
    StageError::failed(format!(
        "`{}`: row {} (ID `{id}`) {what}",
        source.display(),
        row + 1
    ))
}

/// What `meta.json` says about the model behind the predictions.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Loaded model parameters.
    pub params: u64,
    /// Free text naming the model.
    pub model: String,
    /// The whole object, as written.
    pub raw: serde_json::Value,
}

impl Meta {
    /// Reads the fields this crate needs from a parsed `meta.json` at `source`.
    pub fn from_json(raw: serde_json::Value, source: &Path) -> Result<Self, StageError> {
        let fail = |what: &str| StageError::failed(format!("`{}`: {what}", source.display()));
        if !raw.is_object() {
            return Err(fail("must hold a JSON object with `params` and `model`"));
        }
        let params = raw.get("params").and_then(serde_json::Value::as_u64).ok_or_else(|| {
            fail("`params` is missing or not a non-negative integer: write the number of loaded model parameters")
        })?;
        let model = raw
            .get("model")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                fail("`model` is missing or not a string: write a short description of the model")
            })?
            .to_string();
        Ok(Self { params, model, raw })
    }
}

/// One prediction output, read and checked.
#[derive(Debug, Clone)]
pub struct PredictionFolder {
    pub path: PathBuf,
    pub predictions: Predictions,
    pub meta: Meta,
}
