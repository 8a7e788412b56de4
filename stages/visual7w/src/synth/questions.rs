//! The questions a scene can answer. Each question text has a fixed list of candidate answers
//! (all colours, all shapes, all places or the counts none to three); a question is asked only when
//! the scene makes its answer unambiguous, and its wrong options are drawn from the other
//! candidates of the same list.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::scene::{Colour, Object, Place, Scene, Shape};
use crate::rng::Rng;

/// Answers of "how many" questions, by count.
pub const COUNTS: [&str; 4] = ["None.", "One.", "Two.", "Three."];
/// How much larger the largest object must be than the next (in size, the square root of the
/// area) for "largest" questions to be asked.
const LARGEST_MARGIN: f64 = 1.3;

/// The list of candidate answers a question draws from; in manifests (`synth.questions`), the
/// kind of question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Family {
    /// "What color is the circle?", "What color is the largest shape?" (`"color"` in manifests)
    #[serde(rename = "color")]
    Colours,
    /// "What shape is the red object?", "What is the largest shape?" (`"shape"`)
    #[serde(rename = "shape")]
    Shapes,
    /// "Where is the red circle?", "Where is the largest shape?" (`"place"`)
    #[serde(rename = "place")]
    Places,
    /// "How many circles are there?" (`"count"`)
    #[serde(rename = "count")]
    Counts,
}

impl Family {
    pub fn candidates(self) -> Vec<&'static str> {
        match self {
            Family::Colours => Colour::ALL.iter().map(|c| c.answer()).collect(),
            Family::Shapes => Shape::ALL.iter().map(|s| s.answer()).collect(),
            Family::Places => Place::ALL.iter().map(|p| p.answer()).collect(),
            Family::Counts => COUNTS.to_vec(),
        }
    }
}

/// A question a scene answers: its text, type, candidate list and the index of the answer in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub qa_type: &'static str,
    pub family: Family,
    pub answer: usize,
}

impl Question {
    fn new(text: String, qa_type: &'static str, family: Family, answer: &str) -> Self {
        let answer = family
            .candidates()
            .iter()
            .position(|c| *c == answer)
            .unwrap_or_default();
        Self {
            text,
            qa_type,
            family,
            answer,
        }
    }

    /// The answer and three wrong answers drawn from the other candidates.
    pub fn options(&self, rng: &mut Rng) -> (&'static str, [&'static str; 3]) {
        let candidates = self.family.candidates();
        let mut wrong: Vec<&'static str> = candidates
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.answer)
            .map(|(_, c)| *c)
            .collect();
        rng.shuffle(&mut wrong);
        (candidates[self.answer], [wrong[0], wrong[1], wrong[2]])
    }
}

/// Every question the scene answers without ambiguity, in a fixed order.
pub fn questions(scene: &Scene) -> Vec<Question> {
    let objects = &scene.objects;
    let mut found = Vec::new();
    for shape in Shape::ALL {
        let with_shape: Vec<&Object> = objects.iter().filter(|o| o.shape == shape).collect();
        if let [only] = with_shape.as_slice() {
            let text = format!("What color is the {}?", shape.name());
            found.push(Question::new(
                text,
                "what",
                Family::Colours,
                only.colour.answer(),
            ));
        }
        if let Some(count) = COUNTS.get(with_shape.len()) {
            let text = format!("How many {}s are there?", shape.name());
            found.push(Question::new(text, "how", Family::Counts, count));
        }
    }
    for colour in Colour::ALL {
        if let [only] = objects
            .iter()
            .filter(|o| o.colour == colour)
            .collect::<Vec<_>>()
            .as_slice()
        {
            let text = format!("What shape is the {} object?", colour.name());
            found.push(Question::new(
                text,
                "what",
                Family::Shapes,
                only.shape.answer(),
            ));
        }
    }
    for object in objects {
        let same = objects
            .iter()
            .filter(|o| o.shape == object.shape && o.colour == object.colour)
            .count();
        if same == 1 {
            let text = format!(
                "Where is the {} {}?",
                object.colour.name(),
                object.shape.name()
            );
            found.push(Question::new(
                text,
                "where",
                Family::Places,
                object.place.answer(),
            ));
        }
    }
    found.extend(largest_questions(objects));
    found
}

/// Questions about the largest object, when it is clearly the largest.
fn largest_questions(objects: &[Object]) -> Vec<Question> {
    let mut by_size: Vec<&Object> = objects.iter().collect();
    by_size.sort_by(|a, b| b.size.total_cmp(&a.size));
    match by_size.as_slice() {
        [largest, second, ..] if largest.size >= LARGEST_MARGIN * second.size => vec![
            Question::new(
                "What is the largest shape?".into(),
                "what",
                Family::Shapes,
                largest.shape.answer(),
            ),
            Question::new(
                "What color is the largest shape?".into(),
                "what",
                Family::Colours,
                largest.colour.answer(),
            ),
            Question::new(
                "Where is the largest shape?".into(),
                "where",
                Family::Places,
                largest.place.answer(),
            ),
        ],
        _ => Vec::new(),
    }
}
