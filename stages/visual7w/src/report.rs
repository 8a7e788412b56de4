//! `report.json`: what a conversion kept and dropped, written next to the tables and printed.

use std::collections::BTreeMap;
use std::path::Path;

use pipeline_api::StageError;
use pipeline_formats::json::write_json;
use serde::Serialize;

use crate::convert::{Conversion, DropReason, SPLITS};
use crate::table::LETTERS;

/// How many `qa_id`s the report lists per drop reason.
const EXAMPLES: usize = 5;

/// Dropped questions by reason, with the first few `qa_id`s of each.
#[derive(Debug, Default, Clone)]
pub struct Drops {
    pub(crate) counts: BTreeMap<&'static str, usize>,
    pub(crate) examples: BTreeMap<&'static str, Vec<i64>>,
}

impl Drops {
    pub fn add(&mut self, reason: DropReason, qa_id: i64) {
        *self.counts.entry(reason.name()).or_default() += 1;
        let examples = self.examples.entry(reason.name()).or_default();
        if examples.len() < EXAMPLES {
            examples.push(qa_id);
        }
    }

    pub fn count(&self, reason: DropReason) -> usize {
        self.counts.get(reason.name()).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

/// The content of `report.json`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The JSON file's name.
    pub source: String,
    pub seed: u64,
    pub images: usize,
    pub qa_pairs: usize,
    /// Rows written per split.
    pub kept: BTreeMap<String, usize>,
    /// Questions dropped per reason (every reason listed, zeros included).
    pub dropped: BTreeMap<String, usize>,
    /// The first `qa_id`s dropped for each reason.
    pub dropped_examples: BTreeMap<String, Vec<i64>>,
    /// Rows per split and question type.
    pub types: BTreeMap<String, BTreeMap<String, usize>>,
    /// Rows per split and correct letter.
    pub answer_letters: BTreeMap<String, BTreeMap<String, usize>>,
}

impl Report {
    pub fn new(conversion: &Conversion<'_>, source: String, seed: u64) -> Self {
        let mut report = Report {
            source,
            seed,
            images: conversion.images,
            qa_pairs: conversion.qa_pairs,
            kept: BTreeMap::new(),
            dropped: DropReason::ALL
                .iter()
                .map(|r| (r.name().to_string(), conversion.drops.count(*r)))
                .collect(),
            dropped_examples: conversion
                .drops
                .examples
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            types: BTreeMap::new(),
            answer_letters: BTreeMap::new(),
        };
        for (split, rows) in SPLITS.iter().zip(&conversion.splits) {
            report.kept.insert(split.to_string(), rows.len());
            let types = report.types.entry(split.to_string()).or_default();
            let letters = report.answer_letters.entry(split.to_string()).or_default();
            for letter in LETTERS {
                letters.insert(letter.to_string(), 0);
            }
            for row in rows {
                *types
                    .entry(row.qa_type.as_deref().unwrap_or("").to_string())
                    .or_default() += 1;
                if let Some(answer) = row.answer {
                    *letters
                        .entry(LETTERS[usize::from(answer)].to_string())
                        .or_default() += 1;
                }
            }
        }
        report
    }

    /// Human-readable summary lines for the stage log.
    pub fn lines(&self) -> Vec<String> {
        let kept: Vec<String> = self
            .kept
            .iter()
            .map(|(split, n)| format!("{split} {n}"))
            .collect();
        let mut lines = vec![format!(
            "{}: {} images, {} questions; kept {}",
            self.source,
            self.images,
            self.qa_pairs,
            kept.join(", ")
        )];
        for (reason, count) in self.dropped.iter().filter(|(_, count)| **count > 0) {
            let examples = self
                .dropped_examples
                .get(reason)
                .cloned()
                .unwrap_or_default();
            let examples: Vec<String> = examples.iter().map(i64::to_string).collect();
            lines.push(format!(
                "dropped {count} ({reason}), e.g. qa_id {}",
                examples.join(", ")
            ));
        }
        lines
    }

    pub fn write(&self, path: &Path) -> Result<(), StageError> {
        write_json(path, self)
    }
}
