//! Loading official BEiT-3 checkpoints (PyTorch pickles or safetensors in PyTorch naming).
//!
//! The official files hold the state dict under the top-level key `model`, in fp16, with keys
//! prefixed `beit3.`; pretrained files add unused heads (`mlm_head`, `mim_head`, a final
//! LayerNorm) and lack `pooler`/`head`, which then keep the reference initialisation. Every
//! tensor is checked against the configuration before anything is applied (a clear error names
//! the key and both shapes), cast to the backend's float type (f32 on CPU), and a 224-px vision
//! position table is interpolated to the configured image size. `torch_file` reads `torch.save`
//! archives (only the weights of a training checkpoint, whatever else it holds); burn-store reads
//! safetensors and pre-1.6 PyTorch files, renames the keys and transposes.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use burn::prelude::*;
use burn::tensor::DType;
use burn_store::{
    KeyRemapper, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
    TensorSnapshot,
};

use crate::error::LoadError;
use crate::interp::interpolate_position_table;
use crate::model::VqaModel;
use crate::params::{CHECKPOINT_TO_BURN, ParamEntry, param_entries};
use crate::torch_file;

/// Key of the vision position table, the one tensor that may be resized on load.
pub const POSITION_TABLE_A: &str = "beit3.encoder.embed_positions.A.weight";

/// How to read a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Top-level key of a pickle that holds the state dict (`model` in the official files);
    /// `None` reads the whole pickle as the state dict, as does a file without this key that
    /// holds tensors at its top level (a bare state dict). Ignored for safetensors.
    pub top_level_key: Option<String>,
    /// Accept a checkpoint that lacks some of the model's tensors (they keep their values).
    /// Without it, only a checkpoint with no `pooler.*`/`head.*` at all may lack the head.
    pub allow_missing: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            top_level_key: Some("model".into()),
            allow_missing: false,
        }
    }
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Number of tensors written into the model.
    pub applied: usize,
    /// Checkpoint keys the model does not use (pretraining heads, final LayerNorm, ...).
    pub unused: Vec<String>,
    /// Model keys absent from the checkpoint, which kept their values (a fresh head, say).
    pub kept: Vec<String>,
    /// `(from, to)` rows when the vision position table was interpolated.
    pub interpolated: Option<(usize, usize)>,
    /// Top-level entries of the file beside the weights, which were not read: a training
    /// checkpoint's `optimizer`, `epoch`, `scaler`, `args`.
    pub skipped_entries: Vec<String>,
}

/// Loads `file` into `model`, checking every tensor's shape first: on a read, shape or
/// missing-key error the model is left untouched.
pub fn load_checkpoint<B: Backend>(
    model: &mut VqaModel<B>,
    file: &Path,
    options: &LoadOptions,
) -> Result<LoadReport, LoadError> {
    let (source, skipped_entries) = read_snapshots(file, options)?;
    let entries = param_entries::<B, _>(model);
    let dtype = <B::FloatElem as burn::tensor::Element>::dtype();
    let plan = plan(file, &source, &entries, options, dtype)?;
    let count = plan.tensors.len();
    let (tensors, _) = KeyRemapper::from_patterns(CHECKPOINT_TO_BURN.to_vec())
        .map_err(|e| apply_error(file, e.to_string()))?
        .remap(plan.tensors);
    let result = model.apply(tensors, None, Some(Box::new(PyTorchToBurnAdapter)), false);
    if let Some(error) = result.errors.first() {
        return Err(apply_error(file, error.to_string()));
    }
    if result.applied.len() != count {
        let msg = format!(
            "{} of {count} tensors applied; not applied: {:?}",
            result.applied.len(),
            result.unused
        );
        return Err(apply_error(file, msg));
    }
    Ok(LoadReport {
        applied: count,
        unused: plan.unused,
        kept: plan.kept,
        interpolated: plan.interpolated,
        skipped_entries,
    })
}

/// A model of `config` with the weights of `file`.
pub fn load_vqa<B: Backend>(
    config: &crate::config::VqaConfig,
    file: &Path,
    options: &LoadOptions,
    device: &B::Device,
) -> Result<(VqaModel<B>, LoadReport), LoadError> {
    let mut model = VqaModel::new(config, device)?;
    let report = load_checkpoint(&mut model, file, options)?;
    Ok((model, report))
}

fn apply_error(file: &Path, message: String) -> LoadError {
    LoadError::Apply {
        file: file.to_path_buf(),
        message,
    }
}

fn read_error(file: &Path, message: impl ToString) -> LoadError {
    LoadError::Read {
        file: file.to_path_buf(),
        message: message.to_string(),
    }
}

/// Every tensor of the file, lazily, by checkpoint key, and the top-level entries skipped.
fn read_snapshots(
    file: &Path,
    options: &LoadOptions,
) -> Result<(BTreeMap<String, TensorSnapshot>, Vec<String>), LoadError> {
    if !file.is_file() {
        return Err(read_error(file, "no such file"));
    }
    let is_safetensors = file.extension().is_some_and(|e| e == "safetensors");
    if is_safetensors {
        let mut store = SafetensorsStore::from_file(file);
        let tensors = store.get_all_snapshots().cloned();
        return Ok((tensors.map_err(|e| read_error(file, e))?, Vec::new()));
    }
    if torch_file::is_zip(file) {
        let state = torch_file::read_state_dict(file, options.top_level_key.as_deref())
            .map_err(|e| read_error(file, e))?;
        return Ok((state.tensors, state.skipped));
    }
    // Files of PyTorch < 1.6 (not zip archives): burn-store reads those.
    let mut store = PytorchStore::from_file(file).map_indices_contiguous(false);
    if let Some(key) = &options.top_level_key {
        store = store.with_top_level_key(key.clone());
    }
    let tensors = store.get_all_snapshots().cloned().map_err(|e| {
        let hint = match &options.top_level_key {
            Some(k) => format!(" (state dict read under the top-level key `{k}`)"),
            None => String::new(),
        };
        read_error(file, format!("{e}{hint}"))
    })?;
    Ok((tensors, Vec::new()))
}

/// The tensors to apply (f32, keyed by checkpoint key) and what the report says.
struct Plan {
    /// The model's float dtype, which every tensor is converted to.
    dtype: DType,
    tensors: Vec<TensorSnapshot>,
    unused: Vec<String>,
    kept: Vec<String>,
    interpolated: Option<(usize, usize)>,
}

fn plan(
    file: &Path,
    source: &BTreeMap<String, TensorSnapshot>,
    entries: &[ParamEntry],
    options: &LoadOptions,
    dtype: DType,
) -> Result<Plan, LoadError> {
    let mut plan = Plan {
        dtype,
        tensors: Vec::new(),
        unused: Vec::new(),
        kept: Vec::new(),
        interpolated: None,
    };
    let mut missing = Vec::new();
    for entry in entries {
        match source.get(&entry.key) {
            Some(snap) => plan_tensor(file, entry, snap, &mut plan)?,
            None => missing.push(entry.key.clone()),
        }
    }
    plan.kept = allowed_missing(file, source, missing, options)?;
    let known: HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    plan.unused = source
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect();
    Ok(plan)
}

/// Adds one checkpoint tensor to the plan: as it is, interpolated (table A), or an error.
fn plan_tensor(
    file: &Path,
    entry: &ParamEntry,
    snap: &TensorSnapshot,
    plan: &mut Plan,
) -> Result<(), LoadError> {
    let found = snap.shape.to_vec();
    if found == entry.shape {
        plan.tensors.push(converted(&entry.key, snap, plan.dtype));
    } else if entry.key == POSITION_TABLE_A && found.len() == 2 && found[1] == entry.shape[1] {
        plan.tensors
            .push(interpolated(file, entry, snap, plan.dtype)?);
        plan.interpolated = Some((found[0], entry.shape[0]));
    } else {
        return Err(LoadError::ShapeMismatch {
            file: file.to_path_buf(),
            key: entry.key.clone(),
            expected: entry.shape.clone(),
            found,
        });
    }
    Ok(())
}

/// The missing keys that may stay missing: any with `allow_missing`, else only the pooler and
/// head of a checkpoint that has none of them (a pretrained backbone).
fn allowed_missing(
    file: &Path,
    source: &BTreeMap<String, TensorSnapshot>,
    missing: Vec<String>,
    options: &LoadOptions,
) -> Result<Vec<String>, LoadError> {
    let is_head = |k: &str| k.starts_with("pooler.") || k.starts_with("head.");
    let has_head = source.keys().any(|k| is_head(k));
    let (allowed, fatal): (Vec<String>, Vec<String>) = missing
        .into_iter()
        .partition(|k| options.allow_missing || (!has_head && is_head(k)));
    if !fatal.is_empty() {
        return Err(LoadError::Missing {
            file: file.to_path_buf(),
            keys: fatal,
        });
    }
    Ok(allowed)
}

fn path_stack(key: &str) -> Vec<String> {
    key.split('.').map(str::to_string).collect()
}

/// The snapshot, converted to `dtype` (from the file's f16) when it is applied.
fn converted(key: &str, snap: &TensorSnapshot, dtype: DType) -> TensorSnapshot {
    let data = snap.clone_data_fn();
    TensorSnapshot::from_closure(
        Rc::new(move || Ok(data()?.convert_dtype(dtype))),
        dtype,
        snap.shape.clone(),
        path_stack(key),
        vec![],
        Default::default(),
    )
}

/// The vision position table resized to the entry's rows (computed in f32 from the stored
/// values, as DACON's fix of unilm does), then converted to `dtype`.
fn interpolated(
    file: &Path,
    entry: &ParamEntry,
    snap: &TensorSnapshot,
    dtype: DType,
) -> Result<TensorSnapshot, LoadError> {
    let (key, rows) = (entry.key.as_str(), entry.shape[0]);
    let data = snap
        .to_data()
        .map_err(|e| read_error(file, format!("{key}: {e:?}")))?;
    let [from, dim] = [snap.shape[0], snap.shape[1]];
    let values: Vec<f32> = data
        .convert_dtype(DType::F32)
        .to_vec()
        .map_err(|e| read_error(file, format!("{e:?}")))?;
    let table = interpolate_position_table(&values, from, rows, dim).map_err(|message| {
        LoadError::ShapeMismatch {
            file: PathBuf::from(file),
            key: format!("{key} (cannot interpolate: {message})"),
            expected: vec![rows, dim],
            found: vec![from, dim],
        }
    })?;
    Ok(TensorSnapshot::from_data(
        TensorData::new(table, [rows, dim]).convert_dtype(dtype),
        path_stack(key),
        vec![],
        Default::default(),
    ))
}
