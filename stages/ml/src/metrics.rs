//! Accuracy of predictions against a labelled table, overall and per question type, and its
//! Markdown rendering.
//!
//! Every table row counts: a question with no prediction counts as wrong (the contest's rule;
//! Visual7W's own script would leave it out of the denominator, so `answered` is reported too).
//! Predictions for IDs the table lacks are counted as `extra_predictions` and otherwise ignored.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::question_table::{Answer, QUESTION_TYPES};
use pipeline_formats::predictions::Predictions;

/// The accuracy of random guessing among four options.
pub const CHANCE: f64 = 0.25;
/// How many missing IDs `metrics.json` lists.
const LISTED_MISSING: usize = 20;

/// Right answers out of questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tally {
    pub correct: u64,
    pub total: u64,
    /// `correct / total`, null when there are no questions.
    pub accuracy: Option<f64>,
}

impl Tally {
    fn add(&mut self, right: bool) {
        self.total += 1;
        self.correct += u64::from(right);
        self.accuracy = Some(self.correct as f64 / self.total as f64);
    }
}

/// What `metrics.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// All questions of the table.
    pub overall: Tally,
    /// Per question type (all six, an empty one with a null accuracy).
    pub by_type: BTreeMap<String, Tally>,
    /// Questions whose table row has no type (counted in `overall` only).
    pub untyped: Tally,
    /// Questions that have a prediction.
    pub answered: u64,
    /// Questions without a prediction (counted as wrong).
    pub missing: u64,
    /// The first missing IDs, in table order.
    pub missing_ids: Vec<String>,
    /// Predictions whose ID is not in the table (ignored).
    pub extra_predictions: u64,
    pub chance: f64,
    /// The model, from the prediction output's `meta.json`.
    pub model: String,
    /// Loaded parameters, from the prediction output's `meta.json`.
    pub params: u64,
}

impl Metrics {
    /// The tallies of the six types, in report order.
    pub fn types(&self) -> impl Iterator<Item = (&'static str, Tally)> + '_ {
        QUESTION_TYPES
            .iter()
            .map(|name| (*name, self.by_type.get(*name).copied().unwrap_or_default()))
    }
}

/// Scores `predictions` on `answers`; `model` and `params` come from `meta.json`.
pub fn score(answers: &[Answer], predictions: &Predictions, model: &str, params: u64) -> Metrics {
    let index = predictions.index();
    let mut overall = Tally::default();
    let mut by_type = [Tally::default(); 6];
    let mut untyped = Tally::default();
    let mut missing_ids = Vec::new();
    let mut missing = 0;
    for answer in answers {
        let row = index.get(answer.id.as_str());
        if row.is_none() {
            missing += 1;
            if missing_ids.len() < LISTED_MISSING {
                missing_ids.push(answer.id.clone());
            }
        }
        let right = row.is_some_and(|row| predictions.pred[*row] == answer.answer);
        overall.add(right);
        match answer.qa_type {
            Some(kind) => by_type[kind].add(right),
            None => untyped.add(right),
        }
    }
    let table_ids: std::collections::HashSet<&str> =
        answers.iter().map(|a| a.id.as_str()).collect();
    let extra = predictions
        .ids
        .iter()
        .filter(|id| !table_ids.contains(id.as_str()))
        .count();
    Metrics {
        overall,
        by_type: QUESTION_TYPES
            .iter()
            .map(|name| name.to_string())
            .zip(by_type)
            .collect(),
        untyped,
        answered: answers.len() as u64 - missing,
        missing,
        missing_ids,
        extra_predictions: extra as u64,
        chance: CHANCE,
        model: model.to_string(),
        params,
    }
}

/// The metrics as a Markdown table with a few lines around it.
pub fn markdown(metrics: &Metrics) -> String {
    let mut lines = vec![
        format!(
            "Accuracy of {} ({} parameters)",
            metrics.model,
            crate::ensemble::group_digits(metrics.params)
        ),
        String::new(),
        "| type | accuracy | correct | total |".to_string(),
        "| --- | ---: | ---: | ---: |".to_string(),
    ];
    let mut row = |name: &str, tally: Tally| {
        lines.push(format!(
            "| {name} | {} | {} | {} |",
            percent(tally.accuracy),
            tally.correct,
            tally.total
        ));
    };
    for (name, tally) in metrics.types() {
        row(name, tally);
    }
    if metrics.untyped.total > 0 {
        row("(no type)", metrics.untyped);
    }
    row("**all**", metrics.overall);
    lines.push(String::new());
    lines.push(format!("Chance level: {}.", percent(Some(metrics.chance))));
    lines.push(format!(
        "Questions without a prediction: {} (counted as wrong); predictions for IDs not in the table: {}.",
        metrics.missing, metrics.extra_predictions
    ));
    lines.join("\n") + "\n"
}

/// `0.8125` as `81.25 %`, `None` as `n/a`.
pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{:.2} %", v * 100.0))
}
