//! The Visual7W telling JSON (`dataset_v7w_telling.json`): its schema, read without copying the
//! strings, and parse errors that point at the line and column of the problem.
//!
//! ```text
//! { "images": [ { "image_id": 2354786, "filename": "v7w_2354786.jpg", "split": "train",
//!     "qa_pairs": [ { "qa_id": 986, "image_id": 2354786, "question": "What ...?",
//!       "answer": "Surfing.", "multiple_choices": ["..", "..", ".."], "type": "what" } ] } ] }
//! ```
//!
//! Other top-level keys and other fields are ignored. The correct answer is not among
//! `multiple_choices` (those are the three wrong answers).

use std::borrow::Cow;
use std::path::Path;

use pipeline_api::StageError;
use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Deserialize, Serialize)]
pub struct Dataset<'a> {
    #[serde(borrow)]
    pub images: Vec<Image<'a>>,
}

/// One image and its questions. The split is per image.
#[derive(Debug, Deserialize, Serialize)]
pub struct Image<'a> {
    pub image_id: i64,
    /// `v7w_<image_id>.jpg`; absent in some copies, then derived from `image_id`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub split: Cow<'a, str>,
    #[serde(borrow)]
    pub qa_pairs: Vec<QaPair<'a>>,
}

/// One question with its correct answer and three wrong ones.
#[derive(Debug, Deserialize, Serialize)]
pub struct QaPair<'a> {
    pub qa_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<i64>,
    #[serde(borrow)]
    pub question: Cow<'a, str>,
    #[serde(borrow)]
    pub answer: Cow<'a, str>,
    #[serde(borrow)]
    pub multiple_choices: Vec<Cow<'a, str>>,
    /// what, where, when, who, why or how; derived from the question's first word when absent.
    #[serde(
        borrow,
        default,
        rename = "type",
        skip_serializing_if = "Option::is_none"
    )]
    pub qa_type: Option<Cow<'a, str>>,
}

impl Image<'_> {
    /// The image's path relative to the images folder.
    pub fn file_name(&self) -> Cow<'_, str> {
        match &self.filename {
            Some(name) => Cow::Borrowed(name.as_ref()),
            None => Cow::Owned(format!("v7w_{}.jpg", self.image_id)),
        }
    }
}

/// The six question words of the telling task.
pub const TELLING_TYPES: [&str; 6] = ["what", "where", "when", "who", "why", "how"];

impl QaPair<'_> {
    /// The question type: the `type` field lower-cased, or the question's first word when it is
    /// one of the six telling words, else `other`.
    pub fn type_name(&self) -> Cow<'_, str> {
        if let Some(given) = &self.qa_type {
            return if given.chars().any(char::is_uppercase) {
                Cow::Owned(given.to_lowercase())
            } else {
                Cow::Borrowed(given.as_ref())
            };
        }
        let first = self.question.split_whitespace().next().unwrap_or_default();
        let first = first
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let known = TELLING_TYPES.iter().find(|word| **word == first);
        Cow::Borrowed(known.copied().unwrap_or("other"))
    }
}

/// Parses the file's bytes. Errors name the file, the line and the column, and say what to do.
pub fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<Dataset<'a>, StageError> {
    serde_json::from_slice(bytes).map_err(|error| StageError::failed(describe(&error, path)))
}

fn describe(error: &serde_json::Error, path: &Path) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let what = full.strip_suffix(&suffix).unwrap_or(&full);
    let hint = if what.contains("invalid type: integer")
        && what.contains("expected a borrowed string")
    {
        "answers here are integers: this looks like the Visual7W *pointing* file; give the telling \
         file `dataset_v7w_telling.json`"
    } else if error.is_syntax() || error.is_eof() {
        "the file is not valid JSON (truncated download?): download it again"
    } else {
        "the file does not follow the Visual7W telling schema (images[].qa_pairs[] with qa_id, \
         question, answer, multiple_choices, type)"
    };
    format!(
        "{}:{}:{}: {what}: {hint}",
        path.display(),
        error.line(),
        error.column()
    )
}
