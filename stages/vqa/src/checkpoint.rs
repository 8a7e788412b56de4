//! Epoch checkpoints, so that a killed training run continues where it stopped.
//!
//! After each epoch the model, the optimizer moments and the training state are written into
//! `checkpoints/.partial/`, which is then renamed to `checkpoints/epoch-N/` (the commit point), and
//! older checkpoints are deleted. A checkpoint folder therefore exists only once it is complete;
//! whatever a killed run left in `.partial/` is discarded. Burn records (full precision) are used
//! because they keep parameter ids, which the optimizer state is keyed by.

use std::path::{Path, PathBuf};

use beit3::VqaModel;
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use pipeline_api::StageError;
use serde::{Deserialize, Serialize};

use crate::history::History;
use crate::optim::GroupedAdamW;

pub const CHECKPOINTS: &str = "checkpoints";
const PARTIAL: &str = ".partial";
const MODEL: &str = "model.mpk";
const OPTIMIZER: &str = "optimizer.mpk";
const STATE: &str = "state.json";

/// Where training stands at the end of an epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub updates: usize,
    /// Fingerprint of the run's settings: a checkpoint from other settings is never resumed.
    pub fingerprint: String,
    pub history: History,
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::new()
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StageError {
    move |e| StageError::io(context, e)
}

fn record_error(path: &Path, e: impl std::fmt::Display) -> StageError {
    StageError::failed(format!("checkpoint `{}`: {e}", path.display()))
}

/// Saves the end of epoch `state.epoch` and removes earlier checkpoints.
pub fn save<B: AutodiffBackend>(
    out_dir: &Path,
    model: &VqaModel<B>,
    optimizer: &GroupedAdamW<VqaModel<B>, B>,
    state: &TrainState,
) -> Result<(), StageError> {
    let root = out_dir.join(CHECKPOINTS);
    let partial = root.join(PARTIAL);
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .map_err(io(format!("clearing `{}`", partial.display())))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(format!("creating `{}`", partial.display())))?;
    let model_path = partial.join(MODEL);
    model
        .clone()
        .save_file(&model_path, &recorder())
        .map_err(|e| record_error(&model_path, e))?;
    let optim_path = partial.join(OPTIMIZER);
    Recorder::<B>::record(&recorder(), optimizer.to_record(), optim_path.clone())
        .map_err(|e| record_error(&optim_path, e))?;
    let text = serde_json::to_string(state).map_err(|e| record_error(&partial, e))?;
    std::fs::write(partial.join(STATE), text)
        .map_err(io(format!("writing `{}`", partial.display())))?;
    let done = root.join(format!("epoch-{}", state.epoch));
    std::fs::rename(&partial, &done).map_err(io(format!("publishing `{}`", done.display())))?;
    for (epoch, path) in list(out_dir) {
        if epoch != state.epoch {
            std::fs::remove_dir_all(&path).map_err(io(format!("removing `{}`", path.display())))?;
        }
    }
    Ok(())
}

/// Complete checkpoints in `out_dir`, by epoch.
fn list(out_dir: &Path) -> Vec<(usize, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(out_dir.join(CHECKPOINTS)) else {
        return Vec::new();
    };
    let mut found: Vec<(usize, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let epoch = name.strip_prefix("epoch-")?.parse().ok()?;
            entry
                .path()
                .join(STATE)
                .is_file()
                .then(|| (epoch, entry.path()))
        })
        .collect();
    found.sort();
    found
}

/// The latest complete checkpoint's state, if one exists.
pub fn latest_state(out_dir: &Path) -> Result<Option<(TrainState, PathBuf)>, StageError> {
    let Some((_, path)) = list(out_dir).pop() else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path.join(STATE))
        .map_err(io(format!("reading `{}`", path.display())))?;
    let state = serde_json::from_str(&text).map_err(|e| record_error(&path, e))?;
    Ok(Some((state, path)))
}

/// A model with its optimizer, as a checkpoint restores them.
pub type Restored<B> = (VqaModel<B>, GroupedAdamW<VqaModel<B>, B>);

/// Loads the model and optimizer of the checkpoint at `path` into fresh ones.
pub fn restore<B: AutodiffBackend>(
    path: &Path,
    model: VqaModel<B>,
    optimizer: GroupedAdamW<VqaModel<B>, B>,
    device: &B::Device,
) -> Result<Restored<B>, StageError> {
    let model_path = path.join(MODEL);
    let model = model
        .load_file(&model_path, &recorder(), device)
        .map_err(|e| record_error(&model_path, e))?;
    let optim_path = path.join(OPTIMIZER);
    let record = Recorder::<B>::load(&recorder(), optim_path.clone(), device)
        .map_err(|e| record_error(&optim_path, e))?;
    Ok((model, optimizer.load_record(record)))
}

/// Removes every checkpoint (after the final model is written).
pub fn remove_all(out_dir: &Path) -> Result<(), StageError> {
    let root = out_dir.join(CHECKPOINTS);
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(io(format!("removing `{}`", root.display())))?;
    }
    Ok(())
}
