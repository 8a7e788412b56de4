//! The `mc_table` stage kind: a contest-style CSV (`ID,img_path,Question,A,B,C,D[,answer]`) to the
//! same table layout as `visual7w`, so a contest's test file can go through the same prediction
//! stages. The table is named after its split (`test.parquet` by default), as `visual7w` names
//! its tables, so `tokenize` and `predict` downstream find it as the split a user would expect.

use std::collections::BTreeMap;

use pipeline_api::{ParamError, Stage, StageContext, StageError};
use pipeline_formats::json::write_json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::image_index::ImageIndex;
use crate::mc_csv::{CsvOptions, read_mc_csv};
use crate::table::{LETTERS, write_table};

/// The split an `mc_table` output is, unless `split` says otherwise: a contest's `test.csv`.
pub const DEFAULT_SPLIT: &str = "test";

pub struct McTable;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McTableParams {
    /// The split this table is: the output is `<split>.parquet` (default `test`, for a contest's
    /// test.csv; say `train` or `val` for a labelled CSV). Letters, digits, `_`, `-`.
    #[serde(default = "default_split")]
    pub split: String,
    /// Removed from the start of every `img_path` (after any `./`) so that paths are relative to
    /// the `images` input, e.g. `test_input_images/` for rows like `./test_input_images/TEST_000.jpg`.
    #[serde(default)]
    pub strip_prefix: Option<String>,
    /// Also write `<split>.csv` (same columns as `<split>.parquet`).
    #[serde(default)]
    pub csv: bool,
}

fn default_split() -> String {
    DEFAULT_SPLIT.to_string()
}

/// The content of this stage's `report.json`.
#[derive(Debug, Serialize)]
struct McReport {
    source: String,
    split: String,
    rows: usize,
    has_answer: bool,
    answer_letters: BTreeMap<String, usize>,
}

impl Stage for McTable {
    const KIND: &'static str = "mc_table";
    const VERSION: &'static str = "2";
    const DOC: &'static str = "Reads a contest-style multiple-choice CSV (input `table`: columns ID, \
        img_path, Question, A, B, C, D and optionally answer, a letter; header names are matched \
        ignoring case) into `<split>.parquet` (`test.parquet` unless `split` says otherwise) with the \
        columns of `visual7w` (qa_id, image_id and type null; answer null where absent). Quoted \
        fields are kept exactly as written, spaces inside the quotes included; unquoted fields are \
        trimmed of surrounding whitespace. With input `images` bound, every img_path must exist in \
        it. Bad rows fail the stage with file and line.";
    type Params = McTableParams;

    fn validate(params: &McTableParams) -> Result<(), ParamError> {
        let plain = !params.split.is_empty()
            && params
                .split
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if plain {
            Ok(())
        } else {
            Err(ParamError::new(
                "split",
                format!(
                    "`{}` is not a plain name (letters, digits, `_`, `-`), e.g. \"test\"",
                    params.split
                ),
            ))
        }
    }

    fn outputs(params: &McTableParams) -> Vec<String> {
        let mut outputs = vec![format!("{}.parquet", params.split)];
        if params.csv {
            outputs.push(format!("{}.csv", params.split));
        }
        outputs.push("report.json".to_string());
        outputs
    }

    fn run(&self, params: &McTableParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let path = ctx.input("table")?.to_path_buf();
        let mut index = match ctx.inputs.contains_key("images") {
            true => Some(ImageIndex::new(ctx.input("images")?)?),
            false => None,
        };
        let options = CsvOptions {
            strip_prefix: params.strip_prefix.as_deref(),
        };
        let table = read_mc_csv(&path, &options, index.as_mut())?;
        ctx.cancel.check()?;
        write_table(&table.rows, ctx.out_dir, &params.split, params.csv)?;
        let mut answer_letters: BTreeMap<String, usize> =
            LETTERS.iter().map(|l| (l.to_string(), 0)).collect();
        for answer in table.rows.iter().filter_map(|row| row.answer) {
            *answer_letters
                .entry(LETTERS[usize::from(answer)].to_string())
                .or_default() += 1;
        }
        let report = McReport {
            source: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            split: params.split.clone(),
            rows: table.rows.len(),
            has_answer: table.has_answer,
            answer_letters,
        };
        write_json(&ctx.out_dir.join("report.json"), &report)?;
        ctx.log_line(&format!(
            "{}: {} rows as `{}.parquet`{}",
            report.source,
            report.rows,
            report.split,
            if report.has_answer {
                ", with answers"
            } else {
                ", no answer column"
            }
        ));
        Ok(())
    }
}
