//! Plans a synthetic dataset from a seed: each image's split, scene and questions with their
//! options. Everything random is drawn here, in a fixed order, so a seed fixes the dataset.

use super::balance::Balancer;
use super::questions::{Family, Question, questions};
use super::scene::{Scene, random_scene};
use crate::rng::Rng;

/// Scenes tried per image before settling for fewer questions than asked.
const MAX_TRIES: usize = 40;

/// What to generate.
#[derive(Debug, Clone)]
pub struct PlanSpec {
    pub images: usize,
    pub questions_per_image: usize,
    pub seed: u64,
    pub val_fraction: f64,
    pub test_fraction: f64,
    /// Fewest and most objects per scene (1 to 4).
    pub objects: (usize, usize),
    /// Factor on every object's size (1 = the default sizes).
    pub object_scale: f64,
    /// The answer families asked about (colours, shapes, places, counts).
    pub families: Vec<Family>,
}

/// A question with its options.
#[derive(Debug, Clone)]
pub struct PlannedQuestion {
    pub question: Question,
    pub answer: &'static str,
    pub wrong: [&'static str; 3],
}

/// One image of the dataset.
#[derive(Debug, Clone)]
pub struct PlannedImage {
    pub image_id: i64,
    /// 0 train, 1 val, 2 test.
    pub split: usize,
    pub scene: Scene,
    pub questions: Vec<PlannedQuestion>,
}

/// The whole dataset, image by image (image ids 1, 2, ...).
pub fn plan(spec: &PlanSpec) -> Vec<PlannedImage> {
    let splits = assign_splits(spec);
    let mut rng = Rng::new(spec.seed);
    let mut balancer = Balancer::default();
    let mut images = Vec::with_capacity(spec.images);
    for (index, split) in splits.into_iter().enumerate() {
        let (scene, chosen) = best_scene(&mut rng, &balancer, split, spec);
        for question in &chosen {
            balancer.record(split, question);
        }
        let questions = chosen
            .into_iter()
            .map(|question| {
                let (answer, wrong) = question.options(&mut rng);
                PlannedQuestion {
                    question,
                    answer,
                    wrong,
                }
            })
            .collect();
        images.push(PlannedImage {
            image_id: index as i64 + 1,
            split,
            scene,
            questions,
        });
    }
    images
}

/// A scene for which `wanted` questions keep the balance, or the best of [`MAX_TRIES`] scenes.
fn best_scene(
    rng: &mut Rng,
    balancer: &Balancer,
    split: usize,
    spec: &PlanSpec,
) -> (Scene, Vec<Question>) {
    let wanted = spec.questions_per_image;
    let mut best: Option<(Scene, Vec<Question>)> = None;
    for _ in 0..MAX_TRIES {
        let scene = random_scene(rng, spec.objects, spec.object_scale);
        let mut candidates = questions(&scene);
        candidates.retain(|q| spec.families.contains(&q.family));
        rng.shuffle(&mut candidates);
        let accepted: Vec<Question> = candidates
            .into_iter()
            .filter(|q| balancer.accepts(split, q))
            .take(wanted)
            .collect();
        let better = best
            .as_ref()
            .is_none_or(|(_, kept)| accepted.len() > kept.len());
        if better {
            let done = accepted.len() == wanted;
            best = Some((scene, accepted));
            if done {
                break;
            }
        }
    }
    best.unwrap_or_else(|| {
        (
            random_scene(rng, spec.objects, spec.object_scale),
            Vec::new(),
        )
    })
}

/// Each image's split: exactly round(n·fraction) val and test images, at random positions.
fn assign_splits(spec: &PlanSpec) -> Vec<usize> {
    let n = spec.images;
    let val = ((n as f64) * spec.val_fraction).round() as usize;
    let test = (((n as f64) * spec.test_fraction).round() as usize).min(n - val.min(n));
    let mut splits: Vec<usize> = (0..n)
        .map(|i| {
            if i < val {
                1
            } else if i < val + test {
                2
            } else {
                0
            }
        })
        .collect();
    Rng::new(spec.seed ^ 0x0005_9117).shuffle(&mut splits);
    splits
}
