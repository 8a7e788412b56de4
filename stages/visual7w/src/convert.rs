//! Visual7W telling questions to multiple-choice rows: options shuffled with a seeded generator,
//! one table per split, and every question that cannot make a valid row dropped and counted.

use std::borrow::Cow;
use std::collections::HashSet;

use pipeline_api::StageError;

use crate::image_index::ImageIndex;
use crate::report::Drops;
use crate::rng::Rng;
use crate::table::McRow;
use crate::telling::{Dataset, Image, QaPair};

/// The splits of Visual7W, in output order.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Why a question was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The image's `split` is not train, val or test.
    UnknownSplit,
    /// The image file is not in the images folder.
    MissingImage,
    /// The question, the answer or a wrong answer is empty (or only spaces).
    EmptyText,
    /// Fewer than three wrong answers.
    TooFewChoices,
    /// More than three wrong answers (which three to keep would be a guess).
    TooManyChoices,
    /// Two of the four options are equal, ignoring case and surrounding spaces.
    DuplicateOptions,
    /// A `qa_id` seen before in the file (the evaluation key must be unique).
    DuplicateQaId,
}

impl DropReason {
    pub const ALL: [DropReason; 7] = [
        DropReason::UnknownSplit,
        DropReason::MissingImage,
        DropReason::EmptyText,
        DropReason::TooFewChoices,
        DropReason::TooManyChoices,
        DropReason::DuplicateOptions,
        DropReason::DuplicateQaId,
    ];

    /// The name used in `report.json`.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::UnknownSplit => "unknown_split",
            DropReason::MissingImage => "missing_image",
            DropReason::EmptyText => "empty_text",
            DropReason::TooFewChoices => "too_few_choices",
            DropReason::TooManyChoices => "too_many_choices",
            DropReason::DuplicateOptions => "duplicate_options",
            DropReason::DuplicateQaId => "duplicate_qa_id",
        }
    }
}

/// The rows of each split (in [`SPLITS`] order) and what was dropped.
pub struct Conversion<'a> {
    pub splits: [Vec<McRow<'a>>; 3],
    pub drops: Drops,
    pub images: usize,
    pub qa_pairs: usize,
}

/// Converts every question of `dataset`. `on_image` is called after each image with its number of
/// questions (progress and cancellation).
pub fn convert<'a>(
    dataset: &'a Dataset<'a>,
    seed: u64,
    index: &mut ImageIndex,
    on_image: &mut dyn FnMut(u64) -> Result<(), StageError>,
) -> Result<Conversion<'a>, StageError> {
    let mut splits: [Vec<McRow<'a>>; 3] = Default::default();
    let mut drops = Drops::default();
    let mut seen = HashSet::new();
    let mut qa_pairs = 0;
    for image in &dataset.images {
        let img_path = image_path(image)?;
        let image_state = image_state(image, &img_path, index)?;
        for qa in &image.qa_pairs {
            let verdict = match image_state {
                Ok(split) => check_qa(qa).map(|()| split),
                Err(reason) => Err(reason),
            };
            let verdict = verdict.and_then(|split| {
                if seen.insert(qa.qa_id) {
                    Ok(split)
                } else {
                    Err(DropReason::DuplicateQaId)
                }
            });
            match verdict {
                Ok(split) => splits[split].push(make_row(image, qa, img_path.clone(), seed)),
                Err(reason) => drops.add(reason, qa.qa_id),
            }
        }
        qa_pairs += image.qa_pairs.len();
        on_image(image.qa_pairs.len() as u64)?;
    }
    for (split, rows) in SPLITS.iter().zip(splits.iter_mut()) {
        number_rows(split, rows);
    }
    Ok(Conversion {
        splits,
        drops,
        images: dataset.images.len(),
        qa_pairs,
    })
}

/// The image's path relative to the images folder; an absolute or escaping name is an error.
fn image_path<'a>(image: &'a Image<'a>) -> Result<Cow<'a, str>, StageError> {
    let name = image.file_name();
    pipeline_api::check_relative(&name).map_err(|e| {
        StageError::failed(format!(
            "image {}: filename {e}: fix the JSON's `filename`",
            image.image_id
        ))
    })?;
    Ok(match name {
        Cow::Borrowed(name) => Cow::Borrowed(name.strip_prefix("./").unwrap_or(name)),
        Cow::Owned(name) => Cow::Owned(name),
    })
}

/// The split index of an image whose file exists, or why its questions are dropped.
fn image_state(
    image: &Image<'_>,
    img_path: &str,
    index: &mut ImageIndex,
) -> Result<Result<usize, DropReason>, StageError> {
    let Some(split) = SPLITS.iter().position(|name| *name == image.split) else {
        return Ok(Err(DropReason::UnknownSplit));
    };
    if !index.contains(img_path)? {
        return Ok(Err(DropReason::MissingImage));
    }
    Ok(Ok(split))
}

/// Whether a question can make a row: text everywhere, three wrong answers, four distinct options.
pub fn check_qa(qa: &QaPair<'_>) -> Result<(), DropReason> {
    let mut texts = [&qa.question, &qa.answer]
        .into_iter()
        .chain(qa.multiple_choices.iter());
    if texts.any(|text| text.trim().is_empty()) {
        return Err(DropReason::EmptyText);
    }
    match qa.multiple_choices.len() {
        0..=2 => return Err(DropReason::TooFewChoices),
        3 => {}
        _ => return Err(DropReason::TooManyChoices),
    }
    let options: Vec<&str> = std::iter::once(&qa.answer)
        .chain(&qa.multiple_choices)
        .map(|t| t.trim())
        .collect();
    for (i, first) in options.iter().enumerate() {
        if options[i + 1..]
            .iter()
            .any(|second| same_text(first, second))
        {
            return Err(DropReason::DuplicateOptions);
        }
    }
    Ok(())
}

/// Equal ignoring case (the official evaluator lower-cases both sides).
fn same_text(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The answer and the three wrong answers in an order drawn from (`seed`, `qa_id`) alone.
fn make_row<'a>(
    image: &'a Image<'a>,
    qa: &'a QaPair<'a>,
    img_path: Cow<'a, str>,
    seed: u64,
) -> McRow<'a> {
    let texts = [
        &qa.answer,
        &qa.multiple_choices[0],
        &qa.multiple_choices[1],
        &qa.multiple_choices[2],
    ];
    let mut order = [0u8, 1, 2, 3];
    Rng::for_item(seed, qa.qa_id as u64).shuffle(&mut order);
    let answer = order
        .iter()
        .position(|&source| source == 0)
        .map(|position| position as u8);
    McRow {
        id: String::new(),
        img_path,
        question: Cow::Borrowed(qa.question.as_ref()),
        options: order.map(|source| Cow::Borrowed(texts[usize::from(source)].as_ref())),
        answer,
        qa_id: Some(qa.qa_id),
        image_id: Some(image.image_id),
        qa_type: Some(qa.type_name()),
    }
}

/// `TRAIN_00001`, `TRAIN_00002`, ... in file order.
fn number_rows(split: &str, rows: &mut [McRow<'_>]) {
    let prefix = split.to_uppercase();
    for (number, row) in rows.iter_mut().enumerate() {
        row.id = format!("{prefix}_{:05}", number + 1);
    }
}
