//! The `mc_table` stage kind: a contest-style CSV (`ID,img_path,Question,A,B,C,D[,answer]`) to the
//! same table layout as `visual7w`, so a contest's test file can go through the same prediction
//! stages.

use std::collections::BTreeMap;

use pipeline_api::{Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::image_index::ImageIndex;
use crate::mc_csv::{CsvOptions, read_mc_csv};
use crate::report::write_json;
use crate::table::{LETTERS, write_table};

pub struct McTable;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McTableParams {
    /// Removed from the start of every `img_path` (after any `./`) so that paths are relative to
    /// the `images` input, e.g. `test_input_images/` for rows like `./test_input_images/TEST_000.jpg`.
    #[serde(default)]
    pub strip_prefix: Option<String>,
    /// Also write `table.csv` (same columns as `table.parquet`).
    #[serde(default)]
    pub csv: bool,
}

/// The content of this stage's `report.json`.
#[derive(Debug, Serialize)]
struct McReport {
    source: String,
    rows: usize,
    has_answer: bool,
    answer_letters: BTreeMap<String, usize>,
}

impl Stage for McTable {
    const KIND: &'static str = "mc_table";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Reads a contest-style multiple-choice CSV (input `table`: columns ID, \
        img_path, Question, A, B, C, D and optionally answer, a letter; header names are matched \
        ignoring case) into `table.parquet` with the columns of `visual7w` (qa_id, image_id and type \
        null; answer null where absent). With input `images` bound, every img_path must exist in it. \
        Bad rows fail the stage with file and line.";
    type Params = McTableParams;

    fn outputs(params: &McTableParams) -> Vec<String> {
        let mut outputs = vec!["table.parquet".to_string()];
        if params.csv {
            outputs.push("table.csv".to_string());
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
        write_table(&table.rows, ctx.out_dir, "table", params.csv)?;
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
            rows: table.rows.len(),
            has_answer: table.has_answer,
            answer_letters,
        };
        write_json(&report, &ctx.out_dir.join("report.json"))?;
        ctx.log_line(&format!(
            "{}: {} rows{}",
            report.source,
            report.rows,
            if report.has_answer {
                ", with answers"
            } else {
                ", no answer column"
            }
        ));
        Ok(())
    }
}
