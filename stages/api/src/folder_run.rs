//! Running a stage outside the engine, over plain folders: what stage tests, examples and
//! benchmarks need to drive a stage the way the engine does (a [`StageContext`] with the inputs,
//! an output folder, a progress sink and a cancel token), keeping its log in memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{CancelToken, Progress, StageContext, StageError};

/// The folders and handles of one run outside the engine.
pub struct FolderRun<'a> {
    /// The stage instance's name, as logs show it.
    pub stage: &'a str,
    /// The project root handed to the stage.
    pub root: &'a Path,
    /// The output folder (created if missing).
    pub out: &'a Path,
    /// Each input binding's paths.
    pub inputs: &'a [(&'a str, Vec<PathBuf>)],
    pub cpus: usize,
    pub progress: &'a dyn Progress,
    pub cancel: &'a CancelToken,
}

impl FolderRun<'_> {
    /// Calls `run` with a context over these folders; returns what the stage logged.
    pub fn run(
        &self,
        run: impl FnOnce(&mut StageContext<'_>) -> Result<(), StageError>,
    ) -> Result<String, StageError> {
        std::fs::create_dir_all(self.out)
            .map_err(|e| StageError::io(format!("creating `{}`", self.out.display()), e))?;
        let inputs: BTreeMap<String, Vec<PathBuf>> = self
            .inputs
            .iter()
            .map(|(name, paths)| (name.to_string(), paths.clone()))
            .collect();
        let mut log: Vec<u8> = Vec::new();
        let mut ctx = StageContext {
            stage: self.stage,
            root: self.root,
            inputs: &inputs,
            out_dir: self.out,
            gpus: &[],
            cpus: self.cpus,
            progress: self.progress,
            cancel: self.cancel,
            log: &mut log,
        };
        run(&mut ctx)?;
        Ok(String::from_utf8_lossy(&log).into_owned())
    }
}
