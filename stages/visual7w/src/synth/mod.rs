//! The `synth` stage kind: a small Visual7W-format dataset drawn from a seed (rendered shapes and
//! questions about them), so the whole pipeline runs on a fresh machine without the real data.

mod balance;
mod draw;
mod output;
mod plan;
mod questions;
mod scene;

use pipeline_api::{ParamError, Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use plan::{PlanSpec, PlannedImage, plan};
pub use questions::{Family, Question};
pub use scene::{Colour, Object, Place, Scene, Shape};

pub struct Synth;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SynthParams {
    /// Number of images. The default 600 (about 2,400 questions at 64 px) is small enough for a
    /// tiny model to learn on two CPU cores in minutes.
    #[serde(default = "default_images")]
    pub images: usize,
    /// Questions asked about each image, at most; an image whose scenes cannot answer this many
    /// questions without unbalancing the answers gets fewer (rare below 5).
    #[serde(default = "default_questions")]
    pub questions_per_image: usize,
    /// Width and height of every image, in pixels (32 to 1024).
    #[serde(default = "default_image_size")]
    pub image_size: u32,
    /// Seed of everything random: the same seed gives byte-identical files.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Share of images in the val split.
    #[serde(default = "default_fraction")]
    pub val_fraction: f64,
    /// Share of images in the test split; the rest is train.
    #[serde(default = "default_fraction")]
    pub test_fraction: f64,
    /// Fewest and most objects per scene, `[1, 4]` at most. With one object, questions need no
    /// relations between objects (an easier task for tiny models); the default is `[2, 4]`.
    #[serde(default = "default_objects")]
    pub objects: [usize; 2],
    /// Factor on the objects' sizes (0.5 to 3; default 1). Above 1 objects may reach past their
    /// place, so keep one object per scene then; large objects are easier for tiny models.
    #[serde(default = "default_object_scale")]
    pub object_scale: f64,
    /// The kinds of question asked: any of `"color"`, `"shape"`, `"place"`, `"count"` (default:
    /// all four).
    #[serde(default = "default_kinds")]
    pub questions: Vec<Family>,
    /// JPEG quality of the images (1 to 100).
    #[serde(default = "default_quality")]
    pub jpeg_quality: u8,
}

fn default_images() -> usize {
    600
}
fn default_questions() -> usize {
    4
}
fn default_image_size() -> u32 {
    64
}
fn default_seed() -> u64 {
    7
}
fn default_fraction() -> f64 {
    0.15
}
fn default_objects() -> [usize; 2] {
    [2, 4]
}
fn default_object_scale() -> f64 {
    1.0
}
fn default_kinds() -> Vec<Family> {
    vec![
        Family::Colours,
        Family::Shapes,
        Family::Places,
        Family::Counts,
    ]
}
fn default_quality() -> u8 {
    90
}

impl Default for SynthParams {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every synth parameter has a default")
    }
}

impl SynthParams {
    pub fn spec(&self) -> PlanSpec {
        PlanSpec {
            images: self.images,
            questions_per_image: self.questions_per_image,
            seed: self.seed,
            val_fraction: self.val_fraction,
            test_fraction: self.test_fraction,
            objects: (self.objects[0], self.objects[1]),
            object_scale: self.object_scale,
            families: self.questions.clone(),
        }
    }
}

impl Stage for Synth {
    const KIND: &'static str = "synth";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Generates a dataset in the Visual7W telling format from a seed: \
        `dataset_v7w_telling.json` and `images/v7w_<id>.jpg`, scenes of coloured circles, squares, \
        triangles and diamonds with what/where/how questions (what color is the circle, where is \
        the red square, how many triangles, what is the largest shape) and three wrong options of \
        the same kind. Every question text has each of its answers equally often per split, so text \
        alone gives 25%. Feed `@synth/dataset_v7w_telling.json` and `@synth/images` to `visual7w`.";
    type Params = SynthParams;

    fn validate(params: &SynthParams) -> Result<(), ParamError> {
        if !(1..=1_000_000).contains(&params.images) {
            return Err(ParamError::new(
                "images",
                "give between 1 and 1000000 images",
            ));
        }
        if !(1..=8).contains(&params.questions_per_image) {
            return Err(ParamError::new(
                "questions_per_image",
                "give between 1 and 8 questions per image",
            ));
        }
        if !(32..=1024).contains(&params.image_size) {
            return Err(ParamError::new(
                "image_size",
                "give a size between 32 and 1024 pixels",
            ));
        }
        for (name, value) in [
            ("val_fraction", params.val_fraction),
            ("test_fraction", params.test_fraction),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ParamError::new(name, "give a fraction between 0 and 1"));
            }
        }
        if params.val_fraction + params.test_fraction > 1.0 {
            return Err(ParamError::new(
                "test_fraction",
                "val_fraction + test_fraction must not exceed 1",
            ));
        }
        let [fewest, most] = params.objects;
        if !(1 <= fewest && fewest <= most && most <= 4) {
            return Err(ParamError::new(
                "objects",
                "give [fewest, most] objects per scene with 1 <= fewest <= most <= 4",
            ));
        }
        if !(0.5..=3.0).contains(&params.object_scale) {
            return Err(ParamError::new(
                "object_scale",
                "give a factor between 0.5 and 3",
            ));
        }
        if params.questions.is_empty() {
            return Err(ParamError::new(
                "questions",
                "name at least one kind: \"color\", \"shape\", \"place\" or \"count\"",
            ));
        }
        if params.jpeg_quality == 0 || params.jpeg_quality > 100 {
            return Err(ParamError::new(
                "jpeg_quality",
                "give a quality between 1 and 100",
            ));
        }
        Ok(())
    }

    fn outputs(_params: &SynthParams) -> Vec<String> {
        vec![
            output::JSON_NAME.to_string(),
            format!("{}/", output::IMAGES_DIR),
        ]
    }

    fn run(&self, params: &SynthParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let images = plan(&params.spec());
        output::write_images(&images, params, ctx)?;
        output::write_json(&images, &ctx.out_dir.join(output::JSON_NAME))?;
        let questions: usize = images.iter().map(|image| image.questions.len()).sum();
        ctx.log_line(&format!(
            "synth: {} images of {} px, {questions} questions (seed {})",
            images.len(),
            params.image_size,
            params.seed
        ));
        Ok(())
    }
}
