//! `evaluate`: scores a prediction output against the answers of a question table, overall and
//! per question type, as `metrics.json`, `metrics.md` and the chart `accuracy_by_type.png`.

use pipeline_api::{Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::chart::write_chart;
use crate::metrics::{Metrics, markdown, score};
use crate::question_table::read_answers;
use pipeline_formats::json::write_json;
use pipeline_formats::predictions::read_folder;

/// The input holding the prediction output to score.
pub const PREDICTIONS_INPUT: &str = "predictions";
/// The input holding the labelled question table (Parquet).
pub const TABLE_INPUT: &str = "table";
pub const METRICS_JSON: &str = "metrics.json";
pub const METRICS_MD: &str = "metrics.md";
pub const CHART_PNG: &str = "accuracy_by_type.png";

pub struct Evaluate;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateParams {
    /// Score even when some questions of the table have no prediction (they count as wrong and
    /// are listed in metrics.json). By default that is an error.
    #[serde(default)]
    pub allow_missing: bool,
}

impl Stage for Evaluate {
    const KIND: &'static str = "evaluate";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Scores the prediction output of input `predictions` (a model's or an \
        ensemble's) against the answers of input `table` (a question table from the visual7w stage): \
        accuracy overall and per question type (what, where, when, who, why, how) in metrics.json and \
        metrics.md, and a bar chart accuracy_by_type.png with chance level (25 %).";
    type Params = EvaluateParams;

    fn outputs(_params: &EvaluateParams) -> Vec<String> {
        [METRICS_JSON, METRICS_MD, CHART_PNG]
            .map(String::from)
            .to_vec()
    }

    fn run(&self, params: &EvaluateParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        ctx.progress.start(3, "steps");
        let table = ctx.input(TABLE_INPUT)?.to_path_buf();
        let answers = read_answers(&table)?;
        ctx.progress.advance(1);
        ctx.cancel.check()?;
        let folder = read_folder(ctx.input(PREDICTIONS_INPUT)?)?;
        let metrics = score(
            &answers,
            &folder.predictions,
            &folder.meta.model,
            folder.meta.params,
        );
        check_missing(&metrics, params.allow_missing, &table)?;
        ctx.progress.advance(1);
        ctx.cancel.check()?;
        write_json(&ctx.out_dir.join(METRICS_JSON), &metrics)?;
        let report = markdown(&metrics);
        std::fs::write(ctx.out_dir.join(METRICS_MD), &report).map_err(|e| {
            StageError::io(
                format!("writing `{}`", ctx.out_dir.join(METRICS_MD).display()),
                e,
            )
        })?;
        write_chart(&metrics, &ctx.out_dir.join(CHART_PNG))?;
        for line in report.lines().filter(|line| !line.is_empty()) {
            ctx.log_line(line);
        }
        ctx.progress.advance(1);
        Ok(())
    }
}

fn check_missing(
    metrics: &Metrics,
    allow_missing: bool,
    table: &std::path::Path,
) -> Result<(), StageError> {
    if metrics.missing == 0 || allow_missing {
        return Ok(());
    }
    Err(StageError::failed(format!(
        "{} of the {} questions of `{}` have no prediction (first: `{}`): predict the same table, or set \
         allow_missing = true to count them as wrong",
        metrics.missing,
        metrics.overall.total,
        table.display(),
        metrics
            .missing_ids
            .first()
            .map(String::as_str)
            .unwrap_or("?")
    )))
}
