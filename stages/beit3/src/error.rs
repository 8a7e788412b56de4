//! Errors: an invalid configuration, and a checkpoint that cannot be read or does not fit.

use std::path::PathBuf;

/// A configuration whose sizes do not fit together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid BEiT-3 configuration: {0}")]
pub struct ConfigError(pub String);

/// Why a checkpoint could not be loaded into (or saved from) a model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read or parsed.
    #[error("cannot read checkpoint {file}: {message}")]
    Read {
        /// The checkpoint file.
        file: PathBuf,
        /// What went wrong, from the reader.
        message: String,
    },
    /// A tensor exists in the checkpoint but its shape does not fit the configuration.
    #[error(
        "checkpoint {file} does not fit the model configuration: tensor `{key}` has shape {found:?}, \
         the configuration expects {expected:?}; check the model size, image size, \
         vocabulary size, text positions and number of classes"
    )]
    ShapeMismatch {
        /// The checkpoint file.
        file: PathBuf,
        /// The tensor's key as written in the checkpoint.
        key: String,
        /// The shape the configuration expects (PyTorch layout for official checkpoints).
        expected: Vec<usize>,
        /// The shape found in the checkpoint.
        found: Vec<usize>,
    },
    /// Tensors the model needs are absent from the checkpoint.
    #[error(
        "checkpoint {file} lacks {} tensor(s) the model needs, e.g. `{}`; was it saved for this \
         configuration (model size, depth), and is it a BEiT-3 checkpoint (keys `beit3.*`)?",
        keys.len(), keys.first().map(String::as_str).unwrap_or("")
    )]
    Missing {
        /// The checkpoint file.
        file: PathBuf,
        /// The missing keys (checkpoint naming for official checkpoints).
        keys: Vec<String>,
    },
    /// The file was read but applying it to the model failed.
    #[error("cannot apply checkpoint {file}: {message}")]
    Apply {
        /// The checkpoint file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The configuration itself is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}
