//! How a question and its four options become text: one sequence per option (`choice`) or one
//! sequence holding them all (`joint`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The text layout of the model inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Four sequences per question, `"{Question} {option}"` for each of A, B, C, D.
    #[default]
    Choice,
    /// One sequence per question, `"{Question} A: {A} B: {B} C: {C} D: {D}"`.
    Joint,
}

impl Layout {
    /// Sequences per question.
    pub fn sequences(self) -> usize {
        match self {
            Layout::Choice => 4,
            Layout::Joint => 1,
        }
    }

    /// The default sequence length (tokens, with `<s>` and `</s>`).
    pub fn default_max_len(self) -> usize {
        match self {
            Layout::Choice => 64,
            Layout::Joint => 128,
        }
    }

    /// Appends the texts of one question to `out`.
    pub fn texts(self, question: &str, options: [&str; 4], out: &mut Vec<String>) {
        match self {
            Layout::Choice => {
                out.extend(options.iter().map(|option| format!("{question} {option}")))
            }
            Layout::Joint => {
                let [a, b, c, d] = options;
                out.push(format!("{question} A: {a} B: {b} C: {c} D: {d}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_both_layouts() {
        let mut out = Vec::new();
        Layout::Choice.texts("Why?", ["a", "b", "c", "d"], &mut out);
        assert_eq!(out, vec!["Why? a", "Why? b", "Why? c", "Why? d"]);
        out.clear();
        Layout::Joint.texts("Why?", ["a", "b", "c", "d"], &mut out);
        assert_eq!(out, vec!["Why? A: a B: b C: c D: d"]);
    }
}
