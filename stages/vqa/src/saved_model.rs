//! A trained model as `train` writes it: `model.bpk` (Burnpack, f32, Burn names) and
//! `model.json` (the configuration, the head and how the model was fed), which `predict` reads.

use std::path::Path;

use beit3::persist::{load_burn, save_burn};
use beit3::{VqaConfig, VqaModel};
use burn::prelude::*;
use pipeline_api::StageError;
use pipeline_formats::json::write_json;
use serde::{Deserialize, Serialize};

use crate::architecture::Head;

pub const MODEL_FILE: &str = "model.bpk";
pub const MODEL_INFO: &str = "model.json";
const FORMAT: &str = "pipeline-beit3-vqa";

/// `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub format: String,
    pub version: u32,
    pub config: VqaConfig,
    pub head: Head,
    /// Trained with blank images (the text-only control): prediction blanks them too.
    pub blank_images: bool,
    /// Number of parameters.
    pub params: u64,
    /// The epoch whose weights these are.
    pub epoch: usize,
    pub val_accuracy: Option<f64>,
}

impl ModelInfo {
    pub fn new(
        config: VqaConfig,
        head: Head,
        blank_images: bool,
        epoch: usize,
        val_accuracy: Option<f64>,
    ) -> Self {
        let params = param_total(&config);
        Self {
            format: FORMAT.into(),
            version: 1,
            config,
            head,
            blank_images,
            params,
            epoch,
            val_accuracy,
        }
    }
}

/// The exact number of parameters of a model of `config`.
pub fn param_total(config: &VqaConfig) -> u64 {
    let model = VqaModel::<burn::backend::NdArray<f32>>::new(config, &Default::default())
        .expect("a validated configuration");
    beit3::param_count(&model) as u64
}

/// Writes `model.bpk` and `model.json` into `dir`.
pub fn save<B: Backend>(
    dir: &Path,
    model: &VqaModel<B>,
    info: &ModelInfo,
) -> Result<(), StageError> {
    save_burn(model, &dir.join(MODEL_FILE)).map_err(StageError::other)?;
    write_json(&dir.join(MODEL_INFO), info)
}

/// Reads `model.json` of a trained-model folder.
pub fn read_info(dir: &Path) -> Result<ModelInfo, StageError> {
    let path = dir.join(MODEL_INFO);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        StageError::io(
            format!(
                "reading `{}` (is this the output of a `train` stage?)",
                path.display()
            ),
            e,
        )
    })?;
    let info: ModelInfo = serde_json::from_str(&text)
        .map_err(|e| StageError::caused(format!("`{}`", path.display()), e))?;
    if info.format != FORMAT || info.version != 1 {
        return Err(StageError::failed(format!(
            "`{}` is not a version 1 `{FORMAT}` file",
            path.display()
        )));
    }
    Ok(info)
}

/// Loads the model of a trained-model folder.
pub fn load<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(VqaModel<B>, ModelInfo), StageError> {
    let info = read_info(dir)?;
    let model =
        load_burn(&info.config, &dir.join(MODEL_FILE), device).map_err(StageError::other)?;
    Ok((model, info))
}
