//! How an ensemble turns its members' rows into one row per question: mean, weighted mean or
//! majority vote, over members already aligned on the same IDs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use pipeline_formats::predictions::{PredictionFolder, Predictions, argmax};

/// How the members' predictions are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The mean of the members' probabilities; the answer is the most probable letter (the
    /// earliest letter on an exact tie).
    Mean,
    /// The weighted mean of the probabilities, `sum(w_i * p_i) / sum(w_i)` with one weight per
    /// member in input order; the answer as for `mean`.
    Weighted,
    /// Majority vote of the members' `pred` letters. A tie between letters with the most votes
    /// goes to the one with the highest summed probability over all members, then to the
    /// earliest letter. The written probabilities are the vote shares (votes / members).
    Vote,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Mean => "mean",
            Method::Weighted => "weighted",
            Method::Vote => "vote",
        }
    }
}

/// Combines `members`, whose rows are taken in the order `rows[m][i]` gives for question `i`.
/// `ids` are the questions, in output order; `weights` are used by `Weighted` only (one per
/// member, already checked).
pub fn combine(
    method: Method,
    members: &[PredictionFolder],
    rows: &[Vec<usize>],
    ids: Vec<String>,
    weights: &[f64],
) -> Predictions {
    let uniform = vec![1.0; members.len()];
    let row_of = |question: usize| {
        members
            .iter()
            .zip(rows)
            .map(move |(member, order)| (member, order[question]))
    };
    match method {
        Method::Mean | Method::Weighted => {
            let weights = if method == Method::Mean {
                &uniform[..]
            } else {
                weights
            };
            let probs = (0..ids.len())
                .map(|question| {
                    let parts = row_of(question).map(|(member, row)| member.predictions.probs[row]);
                    weighted_mean(parts, weights)
                })
                .collect();
            Predictions::from_probs(ids, probs)
        }
        Method::Vote => {
            let (probs, pred): (Vec<[f32; 4]>, Vec<u8>) = (0..ids.len())
                .map(|question| {
                    let ballots = row_of(question).map(|(member, row)| {
                        (member.predictions.pred[row], member.predictions.probs[row])
                    });
                    vote(ballots)
                })
                .unzip();
            Predictions { ids, probs, pred }
        }
    }
}

/// `sum(w_i * p_i) / sum(w_i)`, accumulated in f64 and scaled to sum to exactly 1 in f64.
fn weighted_mean(parts: impl Iterator<Item = [f32; 4]>, weights: &[f64]) -> [f32; 4] {
    let mut sum = [0.0f64; 4];
    for (probs, weight) in parts.zip(weights) {
        for (total, p) in sum.iter_mut().zip(probs) {
            *total += weight * f64::from(p);
        }
    }
    let norm: f64 = sum.iter().sum();
    sum.map(|total| (total / norm) as f32)
}

/// One question's vote: `(pred, probs)` of each member in, `(vote shares, winner)` out.
fn vote(ballots: impl Iterator<Item = (u8, [f32; 4])>) -> ([f32; 4], u8) {
    let mut votes = [0u32; 4];
    let mut mass = [0.0f64; 4];
    let mut voters = 0u32;
    for (pred, probs) in ballots {
        votes[usize::from(pred)] += 1;
        for (total, p) in mass.iter_mut().zip(probs) {
            *total += f64::from(p);
        }
        voters += 1;
    }
    let most = votes.iter().copied().max().unwrap_or(0);
    let mut winner = None::<usize>;
    for letter in (0..4).filter(|&letter| votes[letter] == most) {
        // Strictly greater: on equal summed probability the earlier letter stays.
        if winner.is_none_or(|best| mass[letter] > mass[best]) {
            winner = Some(letter);
        }
    }
    let shares = votes.map(|count| count as f32 / voters as f32);
    (
        shares,
        winner.unwrap_or_else(|| usize::from(argmax(&shares))) as u8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_tie_goes_to_higher_summed_probability_then_earlier_letter() {
        let ballots = [(0u8, [0.5, 0.4, 0.05, 0.05]), (1u8, [0.1, 0.8, 0.05, 0.05])];
        let (shares, winner) = vote(ballots.into_iter());
        assert_eq!(shares, [0.5, 0.5, 0.0, 0.0]);
        assert_eq!(winner, 1, "B has 1.2 summed probability against A's 0.6");
        let even = [(2u8, [0.0, 0.0, 0.5, 0.5]), (3u8, [0.0, 0.0, 0.5, 0.5])];
        assert_eq!(
            vote(even.into_iter()).1,
            2,
            "equal mass: the earlier letter C"
        );
    }
}
