//! What a running stage is handed: its inputs, its output directory, its devices, a way to report
//! progress and a flag that says the user asked to stop.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::StageError;

/// Progress of one running stage. Implementations draw bars on a terminal or print plain lines.
pub trait Progress: Send + Sync {
    /// Starts (or restarts) a measured phase of `total` units (`unit` is shown: "files", "steps").
    fn start(&self, total: u64, unit: &str);
    /// Sets the position within the current phase.
    fn set_position(&self, position: u64);
    /// Advances the position within the current phase.
    fn advance(&self, delta: u64);
    /// A short status line (the last line the stage printed, a metric).
    fn message(&self, text: &str);
    /// A scalar measured at `step` (a loss, an accuracy), named `chart/series`: the series that
    /// share the part before `/` are drawn on one chart, live, by `pipeline ui`. Kept with the
    /// stage's log; nothing is shown by default.
    fn metric(&self, _name: &str, _step: u64, _value: f64) {}
}

/// A [`Progress`] that shows nothing (tests, library use).
pub struct SilentProgress;

impl Progress for SilentProgress {
    fn start(&self, _total: u64, _unit: &str) {}
    fn set_position(&self, _position: u64) {}
    fn advance(&self, _delta: u64) {}
    fn message(&self, _text: &str) {}
}

/// Set when the user interrupts the run; long stages poll it and return [`StageError::Cancelled`].
#[derive(Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Cancelled)` once cancelled, for use with `?` inside loops.
    pub fn check(&self) -> Result<(), StageError> {
        if self.is_cancelled() {
            Err(StageError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Everything a stage may touch while it runs.
pub struct StageContext<'a> {
    /// The stage instance's name, e.g. `train[seed=1]`.
    pub stage: &'a str,
    /// The project root: relative paths in manifests start here; `exec` runs here.
    pub root: &'a Path,
    /// Each input binding's paths (one for a single reference, several for a list or a matrix).
    pub inputs: &'a BTreeMap<String, Vec<PathBuf>>,
    /// The only directory the stage may write to. Empty at start unless the stage is resumable.
    pub out_dir: &'a Path,
    /// GPU ids this stage may use (empty if it asked for none).
    pub gpus: &'a [u32],
    /// CPU cores granted to this stage.
    pub cpus: usize,
    pub progress: &'a dyn Progress,
    pub cancel: &'a CancelToken,
    /// The stage's log file, kept with its run.
    pub log: &'a mut (dyn Write + Send),
}

impl StageContext<'_> {
    /// The single path bound to input `name`.
    pub fn input(&self, name: &str) -> Result<&Path, StageError> {
        match self.inputs.get(name).map(Vec::as_slice) {
            Some([one]) => Ok(one),
            Some(many) => Err(StageError::failed(format!(
                "input `{name}` holds {} paths where one is expected",
                many.len()
            ))),
            None => Err(StageError::failed(format!(
                "input `{name}` is missing: add it to the stage's `inputs` table"
            ))),
        }
    }

    /// All paths bound to input `name` (a list or every instance of a matrix stage).
    pub fn input_list(&self, name: &str) -> Result<&[PathBuf], StageError> {
        self.inputs.get(name).map(Vec::as_slice).ok_or_else(|| {
            StageError::failed(format!(
                "input `{name}` is missing: add it to the stage's `inputs` table"
            ))
        })
    }

    /// Writes one line to the stage's log and shows it as the stage's status.
    pub fn log_line(&mut self, line: &str) {
        // The log is best effort: a full disk must not turn into a failed training run.
        let _ = writeln!(self.log, "{line}");
        self.progress.message(line);
    }
}
