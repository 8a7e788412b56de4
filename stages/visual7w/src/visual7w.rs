//! The `visual7w` stage kind: `dataset_v7w_telling.json` plus its images folder to one
//! multiple-choice table per split.

use std::path::Path;

use pipeline_api::{Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::convert::{SPLITS, convert};
use crate::image_index::ImageIndex;
use crate::report::Report;
use crate::table::write_table;
use crate::telling;

pub struct Visual7w;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Visual7wParams {
    /// Seed of the option shuffle. Each question's order is drawn from (seed, qa_id) alone, so the
    /// same seed gives byte-identical tables on every machine, and dropping one question does not
    /// move the letters of the others.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Also write `train.csv`, `val.csv` and `test.csv` (same columns as the Parquet files).
    #[serde(default)]
    pub csv: bool,
}

fn default_seed() -> u64 {
    42
}

impl Stage for Visual7w {
    const KIND: &'static str = "visual7w";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Converts Visual7W telling (input `json`: dataset_v7w_telling.json, input \
        `images`: the folder of v7w_<id>.jpg) to `train.parquet`, `val.parquet` and `test.parquet` \
        with columns ID (TRAIN_00001...), img_path (relative to the images folder), Question, A, B, C, \
        D, answer (letter), qa_id, image_id, type. Options are shuffled with `seed`. Questions with \
        fewer than three wrong answers, duplicate options, empty text or a missing image are dropped \
        and counted by reason in `report.json`.";
    type Params = Visual7wParams;

    fn outputs(params: &Visual7wParams) -> Vec<String> {
        let mut outputs: Vec<String> = SPLITS
            .iter()
            .map(|split| format!("{split}.parquet"))
            .collect();
        if params.csv {
            outputs.extend(SPLITS.iter().map(|split| format!("{split}.csv")));
        }
        outputs.push("report.json".to_string());
        outputs
    }

    fn run(&self, params: &Visual7wParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let json_path = ctx.input("json")?.to_path_buf();
        let mut index = ImageIndex::new(ctx.input("images")?)?;
        let bytes = read_file(&json_path)?;
        let dataset = telling::parse(&bytes, &json_path)?;
        let total: usize = dataset
            .images
            .iter()
            .map(|image| image.qa_pairs.len())
            .sum();
        ctx.progress.start(total as u64, "questions");
        let (progress, cancel) = (ctx.progress, ctx.cancel);
        let conversion = convert(&dataset, params.seed, &mut index, &mut |done| {
            progress.advance(done);
            cancel.check()
        })?;
        for (split, rows) in SPLITS.iter().zip(&conversion.splits) {
            ctx.cancel.check()?;
            write_table(rows, ctx.out_dir, split, params.csv)?;
        }
        let report = Report::new(&conversion, file_name(&json_path), params.seed);
        report.write(&ctx.out_dir.join("report.json"))?;
        for line in report.lines() {
            ctx.log_line(&line);
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, StageError> {
    std::fs::read(path).map_err(|e| StageError::io(format!("reading `{}`", path.display()), e))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
