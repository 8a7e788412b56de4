//! Writes a planned synthetic dataset: the JPEG images (in parallel) and the telling JSON.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use pipeline_api::{StageContext, StageError};
use rayon::prelude::*;

use super::SynthParams;
use super::draw::render;
use super::plan::PlannedImage;
use crate::convert::SPLITS;
use crate::telling::{Dataset, Image, QaPair};

pub const JSON_NAME: &str = "dataset_v7w_telling.json";
pub const IMAGES_DIR: &str = "images";

/// The file name of an image, as in Visual7W.
pub fn file_name(image_id: i64) -> String {
    format!("v7w_{image_id}.jpg")
}

/// Renders and encodes every image into `images/`, on `ctx.cpus` threads.
pub fn write_images(
    images: &[PlannedImage],
    params: &SynthParams,
    ctx: &StageContext<'_>,
) -> Result<(), StageError> {
    let folder = ctx.out_dir.join(IMAGES_DIR);
    std::fs::create_dir_all(&folder)
        .map_err(|e| StageError::io(format!("creating `{}`", folder.display()), e))?;
    ctx.progress.start(images.len() as u64, "images");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.cpus.max(1))
        .build()
        .map_err(|e| StageError::caused(format!("starting {} threads", ctx.cpus), e))?;
    pool.install(|| {
        images.par_iter().try_for_each(|image| {
            ctx.cancel.check()?;
            let path = folder.join(file_name(image.image_id));
            let picture = render(&image.scene, params.image_size);
            let file = File::create(&path)
                .map_err(|e| StageError::io(format!("creating `{}`", path.display()), e))?;
            let mut writer = BufWriter::new(file);
            JpegEncoder::new_with_quality(&mut writer, params.jpeg_quality)
                .encode_image(&picture)
                .map_err(|e| StageError::caused(format!("encoding `{}`", path.display()), e))?;
            writer
                .flush()
                .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))?;
            ctx.progress.advance(1);
            Ok(())
        })
    })
}

/// Writes the dataset as compact telling JSON.
pub fn write_json(images: &[PlannedImage], path: &Path) -> Result<(), StageError> {
    let mut qa_id = 0;
    let images = images
        .iter()
        .map(|image| Image {
            image_id: image.image_id,
            filename: Some(Cow::Owned(file_name(image.image_id))),
            split: Cow::Borrowed(SPLITS[image.split]),
            qa_pairs: image
                .questions
                .iter()
                .map(|planned| {
                    qa_id += 1;
                    QaPair {
                        qa_id,
                        image_id: Some(image.image_id),
                        question: Cow::Borrowed(planned.question.text.as_str()),
                        answer: Cow::Borrowed(planned.answer),
                        multiple_choices: planned.wrong.iter().map(|w| Cow::Borrowed(*w)).collect(),
                        qa_type: Some(Cow::Borrowed(planned.question.qa_type)),
                    }
                })
                .collect(),
        })
        .collect();
    let dataset = Dataset { images };
    let file = File::create(path)
        .map_err(|e| StageError::io(format!("creating `{}`", path.display()), e))?;
    let mut writer = BufWriter::new(file);
    serde_json::to_writer(&mut writer, &dataset)
        .map_err(|e| StageError::caused(format!("writing `{}`", path.display()), e))?;
    writer
        .write_all(b"\n")
        .and_then(|()| writer.flush())
        .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))
}
