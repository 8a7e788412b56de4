//! The answers of a question table written by the `visual7w` stage: a Parquet file whose columns
//! `ID`, `answer` (a letter) and `type` (what/where/when/who/why/how, null when unknown) are read.

use std::collections::HashMap;
use std::path::Path;

use pipeline_api::StageError;

use pipeline_formats::predictions::letter_index;
use pipeline_formats::table::{optional_strings, read_parquet, string_column};

/// The Visual7W telling question types, in the order they are reported.
pub const QUESTION_TYPES: [&str; 6] = ["what", "where", "when", "who", "why", "how"];

/// One labelled question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub id: String,
    /// The correct option (0 = A).
    pub answer: u8,
    /// Index into [`QUESTION_TYPES`], `None` when the table does not say.
    pub qa_type: Option<usize>,
}

/// Reads the labelled questions of the table at `path`.
pub fn read_answers(path: &Path) -> Result<Vec<Answer>, StageError> {
    let frame = read_parquet(path)?;
    let ids = string_column(&frame, "ID", path)?;
    let answers = optional_strings(&frame, "answer", path)?;
    let types = optional_strings(&frame, "type", path)?;
    let mut seen = HashMap::with_capacity(ids.len());
    let mut rows = Vec::with_capacity(ids.len());
    for (row, ((id, answer), qa_type)) in ids.into_iter().zip(answers).zip(types).enumerate() {
        let fail = |what: String| {
            StageError::failed(format!(
                "`{}`: row {} (ID `{id}`) {what}",
                path.display(),
                row + 1
            ))
        };
        if let Some(first) = seen.insert(id.clone(), row) {
            return Err(fail(format!("repeats the ID of row {}", first + 1)));
        }
        let answer = match answer.as_deref() {
            None => {
                return Err(fail(
                    "has no answer: evaluate needs a labelled table (train or val, not test)"
                        .into(),
                ));
            }
            Some(text) => letter_index(text.trim())
                .ok_or_else(|| fail(format!("has answer `{text}`: expected one of A, B, C, D")))?,
        };
        let qa_type = match qa_type.as_deref() {
            None => None,
            Some(text) => Some(type_index(text).ok_or_else(|| {
                fail(format!(
                    "has type `{text}`: expected one of {}",
                    QUESTION_TYPES.join(", ")
                ))
            })?),
        };
        rows.push(Answer {
            id,
            answer,
            qa_type,
        });
    }
    Ok(rows)
}

fn type_index(text: &str) -> Option<usize> {
    let text = text.trim().to_ascii_lowercase();
    QUESTION_TYPES.iter().position(|name| *name == text)
}
