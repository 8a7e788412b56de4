//! `ensemble`: combines several prediction outputs into one, in the same format, after checking
//! that together they stay within the contest's limit on loaded parameters.

use std::path::{Path, PathBuf};

use pipeline_api::{ParamError, Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::align::align;
use crate::combine::{Method, combine};
use pipeline_formats::predictions::{
    META_FILE, PREDICTIONS_FILE, PredictionFolder, SUBMISSION_FILE, read_folder, write_folder,
};

/// The input holding the members' prediction folders.
pub const MEMBERS_INPUT: &str = "members";

pub struct Ensemble;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnsembleParams {
    /// How to combine the members (input `members`, a list of prediction outputs such as
    /// `["@predict_a", "@predict_b"]` or `"@predict"` for every instance of a matrix stage):
    /// `mean`, `weighted` or `vote`.
    pub method: Method,
    /// One weight per member, in input order (only with `method = "weighted"`): finite, at least
    /// 0, not all 0. They are normalised by their sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// The most model parameters the members may load together (the sum of their `meta.json`
    /// `params`); the contest allows 3,000,000,000.
    #[serde(default = "default_max_params")]
    pub max_params: u64,
}

fn default_max_params() -> u64 {
    3_000_000_000
}

impl Stage for Ensemble {
    const KIND: &'static str = "ensemble";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Combines the prediction outputs of input `members` (mean, weighted mean or \
        majority vote) into one prediction output (predictions.parquet, submission.csv, meta.json), after \
        checking that every member predicts the same IDs and that their summed parameters stay within \
        `max_params`.";
    type Params = EnsembleParams;

    fn validate(params: &EnsembleParams) -> Result<(), ParamError> {
        match (params.method, &params.weights) {
            (Method::Weighted, None) => Err(ParamError::new(
                "weights",
                "method = \"weighted\" needs `weights`, one per member",
            )),
            (Method::Weighted, Some(weights)) => check_weights(weights),
            (method, Some(_)) => Err(ParamError::new(
                "weights",
                format!(
                    "`weights` is only used by method = \"weighted\", not \"{}\": remove it",
                    method.name()
                ),
            )),
            (_, None) => Ok(()),
        }
    }

    fn outputs(_params: &EnsembleParams) -> Vec<String> {
        [PREDICTIONS_FILE, SUBMISSION_FILE, META_FILE]
            .map(String::from)
            .to_vec()
    }

    fn run(&self, params: &EnsembleParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let paths = ctx.input_list(MEMBERS_INPUT)?.to_vec();
        if paths.is_empty() {
            return Err(StageError::failed(
                "input `members` is empty: list the prediction outputs to combine",
            ));
        }
        let weights = member_weights(params, paths.len())?;
        let members = read_members(&paths, ctx)?;
        let total = check_params(&members, params.max_params)?;
        let rows = align(&members)?;
        let ids = members[0].predictions.ids.clone();
        let combined = combine(params.method, &members, &rows, ids, &weights);
        let meta = ensemble_meta(params, &members, &weights, total, ctx.root);
        write_folder(ctx.out_dir, &combined, &meta)?;
        ctx.log_line(&format!(
            "{} members, method {}, {} questions, {} parameters in total",
            members.len(),
            params.method.name(),
            combined.len(),
            group_digits(total)
        ));
        Ok(())
    }
}

fn check_weights(weights: &[f64]) -> Result<(), ParamError> {
    if let Some(bad) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
        return Err(ParamError::new(
            format!("weights[{bad}]"),
            "weights must be finite and at least 0",
        ));
    }
    if weights.iter().sum::<f64>() <= 0.0 {
        return Err(ParamError::new(
            "weights",
            "at least one weight must be above 0",
        ));
    }
    Ok(())
}

/// The weight of each member: the configured ones for `weighted` (their count checked against
/// the members), all 1 otherwise.
fn member_weights(params: &EnsembleParams, members: usize) -> Result<Vec<f64>, StageError> {
    match &params.weights {
        Some(weights) if weights.len() != members => Err(StageError::failed(format!(
            "`weights` has {} values but input `members` has {members} prediction outputs: give one weight per \
             member, in input order",
            weights.len()
        ))),
        Some(weights) => Ok(weights.clone()),
        None => Ok(vec![1.0; members]),
    }
}

fn read_members(
    paths: &[PathBuf],
    ctx: &mut StageContext<'_>,
) -> Result<Vec<PredictionFolder>, StageError> {
    ctx.progress.start(paths.len() as u64, "members");
    let mut members = Vec::with_capacity(paths.len());
    for path in paths {
        ctx.cancel.check()?;
        let member = read_folder(path)?;
        ctx.log_line(&format!(
            "member {}: {} ({} parameters, {} rows) from `{}`",
            members.len() + 1,
            member.meta.model,
            group_digits(member.meta.params),
            member.predictions.len(),
            path.display()
        ));
        members.push(member);
        ctx.progress.advance(1);
    }
    Ok(members)
}

/// The members' summed parameters, or an error when they exceed `max_params`.
fn check_params(members: &[PredictionFolder], max_params: u64) -> Result<u64, StageError> {
    let total = members
        .iter()
        .fold(0u64, |sum, member| sum.saturating_add(member.meta.params));
    if total <= max_params {
        return Ok(total);
    }
    let parts: Vec<String> = members
        .iter()
        .enumerate()
        .map(|(number, member)| {
            format!(
                "member {} {}: {}",
                number + 1,
                member.meta.model,
                group_digits(member.meta.params)
            )
        })
        .collect();
    Err(StageError::failed(format!(
        "the members load {} parameters in total ({}), over max_params = {}: drop a member or use smaller models",
        group_digits(total),
        parts.join("; "),
        group_digits(max_params)
    )))
}

fn ensemble_meta(
    params: &EnsembleParams,
    members: &[PredictionFolder],
    weights: &[f64],
    total: u64,
    root: &Path,
) -> serde_json::Value {
    let listed: Vec<serde_json::Value> = members
        .iter()
        .map(|member| {
            let source = member.path.strip_prefix(root).unwrap_or(&member.path);
            json!({ "source": source.display().to_string(), "model": member.meta.model, "params": member.meta.params })
        })
        .collect();
    let weights = (params.method == Method::Weighted).then_some(weights);
    json!({
        "params": total,
        "model": format!("ensemble ({}) of {} members", params.method.name(), members.len()),
        "method": params.method.name(),
        "weights": weights,
        "members": listed,
    })
}

/// `3000000000` as `3,000,000,000`.
pub fn group_digits(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
