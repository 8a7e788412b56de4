//! Saving and loading our own checkpoints: Burnpack (burn-store's native Burn format, f32,
//! Burn names and layouts) and safetensors in the official PyTorch naming and layout, for
//! interchange. Loading checks every tensor against the configuration: a file saved for another
//! configuration is an error, never a silently half-loaded model.

use std::path::Path;

use burn::prelude::*;
use burn_store::{
    ApplyError, BurnToPyTorchAdapter, BurnpackStore, ModuleSnapshot, SafetensorsStore,
};

use crate::config::VqaConfig;
use crate::error::LoadError;
use crate::model::VqaModel;
use crate::params::BURN_TO_CHECKPOINT;

fn save_error(path: &Path, e: impl std::fmt::Display) -> LoadError {
    LoadError::Apply {
        file: path.to_path_buf(),
        message: format!("cannot save: {e}"),
    }
}

/// Saves `model` in the Burnpack format at `path` (`.bpk` is added when there is no extension),
/// replacing any existing file.
pub fn save_burn<B: Backend>(model: &VqaModel<B>, path: &Path) -> Result<(), LoadError> {
    let mut store = BurnpackStore::from_file(path)
        .overwrite(true)
        .metadata("model", "beit3-vqa");
    model.save_into(&mut store).map_err(|e| save_error(path, e))
}

/// Loads a model of `config` saved by [`save_burn`]. Every tensor of the model must be in the
/// file with the configured shape, and the file must hold nothing else.
pub fn load_burn<B: Backend>(
    config: &VqaConfig,
    path: &Path,
    device: &B::Device,
) -> Result<VqaModel<B>, LoadError> {
    let file = path.to_path_buf();
    let mut model = VqaModel::new(config, device)?;
    let mut store = BurnpackStore::from_file(path)
        .allow_partial(true)
        .validate(false);
    let result = model.load_from(&mut store).map_err(|e| LoadError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    match result.errors.first() {
        Some(ApplyError::ShapeMismatch {
            path: key,
            expected,
            found,
        }) => {
            let (expected, found) = (expected.to_vec(), found.to_vec());
            return Err(LoadError::ShapeMismatch {
                file,
                key: key.clone(),
                expected,
                found,
            });
        }
        Some(other) => {
            return Err(LoadError::Apply {
                file,
                message: other.to_string(),
            });
        }
        None => {}
    }
    if !result.missing.is_empty() {
        let keys = result.missing.into_iter().map(|(key, _)| key).collect();
        return Err(LoadError::Missing { file, keys });
    }
    if let Some(extra) = result.unused.first() {
        let message = format!(
            "it holds tensors this configuration lacks, e.g. `{extra}`; was it saved for another configuration?"
        );
        return Err(LoadError::Read { file, message });
    }
    Ok(model)
}

/// Saves `model` as safetensors with the official checkpoint keys and PyTorch layouts, so that
/// PyTorch (and [`crate::load_checkpoint`]) can read it.
pub fn save_safetensors<B: Backend>(model: &VqaModel<B>, path: &Path) -> Result<(), LoadError> {
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .metadata("format", "pt")
        .overwrite(true);
    for (from, to) in BURN_TO_CHECKPOINT {
        store = store.with_key_remapping(from, to);
    }
    model.save_into(&mut store).map_err(|e| save_error(path, e))
}
