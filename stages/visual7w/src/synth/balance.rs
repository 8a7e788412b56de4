//! Keeps every question text's answers equally frequent within each split, so that the text of a
//! question (and its options) says nothing about which option is right: a question is accepted
//! only when its answer is among the least used answers of its text so far.

use std::collections::HashMap;

use super::questions::Question;

/// Answer counts per question text and split.
#[derive(Debug, Default)]
pub struct Balancer {
    counts: HashMap<String, Vec<Vec<u32>>>,
}

/// The number of splits counted apart.
const SPLITS: usize = 3;

impl Balancer {
    /// Whether asking `question` in `split` keeps its text's answers balanced.
    pub fn accepts(&self, split: usize, question: &Question) -> bool {
        match self.counts.get(&question.text) {
            None => true,
            Some(per_split) => {
                let counts = &per_split[split];
                counts[question.answer] <= counts.iter().copied().min().unwrap_or(0)
            }
        }
    }

    /// Counts `question` as asked in `split`.
    pub fn record(&mut self, split: usize, question: &Question) {
        let candidates = question.family.candidates().len();
        let per_split = self
            .counts
            .entry(question.text.clone())
            .or_insert_with(|| vec![vec![0; candidates]; SPLITS]);
        per_split[split][question.answer] += 1;
    }
}
