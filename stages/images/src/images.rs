//! The `images` stage kind: decode, resize to S x S and pack a folder of images for training.

use std::collections::BTreeMap;
use std::path::Path;

use pipeline_api::{ParamError, Stage, StageContext, StageError};
use pipeline_formats::json::write_json;
use pipeline_formats::packed_images::{INDEX_FILE, META_FILE, Meta, PIXELS_FILE};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::pack::{PackJob, Packed, pack};
use crate::sources::{Source, list_images, select};
use crate::tables::referenced_paths;

/// What was skipped, and why: `packed` and `skipped` (`img_path`, `error`).
pub const REPORT_FILE: &str = "report.json";

/// Largest accepted `size`: 4096 x 4096 x 3 bytes is already 48 MiB per image.
const MAX_SIZE: u32 = 4096;

pub struct Images;

/// What to do with an image that is missing, truncated or corrupt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop the stage with an error naming the image.
    #[default]
    Fail,
    /// Leave the image out, log it and list it in `report.json`.
    Skip,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagesParams {
    /// Side in pixels of the square every image is resized to, ignoring aspect ratio (BEiT-3 VQA
    /// uses 480; the demo 32 to 64).
    pub size: u32,
    /// `"fail"` (default): a missing, truncated or corrupt image stops the stage, naming it.
    /// `"skip"`: it is left out, logged and listed in `report.json`.
    #[serde(default)]
    pub on_error: OnError,
}

impl Stage for Images {
    const KIND: &'static str = "images";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Decodes every .jpg/.jpeg/.png below input `images` (or only those \
        whose `img_path` the optional `tables` input lists: Parquet or CSV files with an img_path column, or \
        .txt lists), converts to RGB, resizes to size x size with PIL-compatible bicubic filtering \
        (aspect ratio ignored, as BEiT-3 does) and packs them as u8 HWC rows in `images.u8`, with \
        `index.json` (img_path -> row, sorted), `meta.json` and `report.json` (skipped images). \
        Read it with `pipeline_formats::PackedImages`.";
    type Params = ImagesParams;

    fn validate(params: &ImagesParams) -> Result<(), ParamError> {
        if params.size == 0 || params.size > MAX_SIZE {
            return Err(ParamError::new(
                "size",
                format!("must be between 1 and {MAX_SIZE} pixels"),
            ));
        }
        Ok(())
    }

    fn outputs(_params: &ImagesParams) -> Vec<String> {
        [PIXELS_FILE, INDEX_FILE, META_FILE, REPORT_FILE]
            .map(String::from)
            .to_vec()
    }

    fn run(&self, params: &ImagesParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let sources = chosen_sources(ctx)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(ctx.cpus.max(1))
            .thread_name(|i| format!("images-{i}"))
            .build()
            .map_err(|e| StageError::caused("cannot start worker threads", e))?;
        ctx.progress.start(sources.len() as u64, "images");
        let job = PackJob {
            size: params.size,
            skip_errors: params.on_error == OnError::Skip,
            pool: &pool,
            progress: ctx.progress,
            cancel: ctx.cancel,
        };
        let packed = pack(&job, &sources, &ctx.out_dir.join(PIXELS_FILE))?;
        let root = ctx.input("images")?.to_path_buf();
        for skipped in &packed.skipped {
            let file = root.join(&skipped.img_path);
            ctx.log_line(&format!(
                "skipped image `{}` ({}): {}",
                skipped.img_path,
                file.display(),
                skipped.error
            ));
        }
        write_outputs(ctx.out_dir, params.size, &packed)?;
        ctx.log_line(&format!(
            "packed {} images at {size}x{size}, skipped {}",
            packed.rows.len(),
            packed.skipped.len(),
            size = params.size
        ));
        Ok(())
    }
}

/// Every image of the folder, or only those the tables reference.
fn chosen_sources(ctx: &StageContext<'_>) -> Result<Vec<Source>, StageError> {
    let root = ctx.input("images")?;
    let all = list_images(root)?;
    let sources = match ctx.inputs.get("tables") {
        Some(tables) => select(all, root, &referenced_paths(tables)?),
        None => all,
    };
    if sources.is_empty() {
        return Err(StageError::failed(format!(
            "no .jpg, .jpeg or .png image found below `{}` (or the tables list none)",
            root.display()
        )));
    }
    Ok(sources)
}

fn write_outputs(out_dir: &Path, size: u32, packed: &Packed) -> Result<(), StageError> {
    if packed.rows.is_empty() {
        return Err(StageError::failed(format!(
            "every image failed ({} skipped, see the log): nothing to pack",
            packed.skipped.len()
        )));
    }
    let index: BTreeMap<&str, usize> = packed
        .rows
        .iter()
        .enumerate()
        .map(|(row, key)| (key.as_str(), row))
        .collect();
    write_json(&out_dir.join(INDEX_FILE), &index)?;
    write_json(
        &out_dir.join(META_FILE),
        &Meta::new(size, packed.rows.len() as u64),
    )?;
    let report = serde_json::json!({ "packed": packed.rows.len(), "skipped": packed.skipped });
    write_json(&out_dir.join(REPORT_FILE), &report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_is_documented_and_on_error_defaults_to_fail() {
        let stage = pipeline_api::erase(Images);
        let schema = serde_json::to_value(stage.params_schema()).unwrap();
        let properties = schema["properties"].as_object().unwrap();
        assert_eq!(properties.len(), 2);
        for (name, property) in properties {
            assert!(property.get("description").is_some(), "`{name}` has no doc");
        }
        let prepared = stage.prepare(toml::toml! { size = 32 }.into()).unwrap();
        let canonical = prepared.canonical_params();
        assert_eq!(
            canonical,
            serde_json::json!({ "size": 32, "on_error": "fail" })
        );
    }
}
