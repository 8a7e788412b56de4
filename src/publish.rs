//! Publishing: a stage's results placed at user-visible paths of the project, each replaced
//! atomically, and whether they are still in place (for `status`).

use std::path::Path;

use crate::job::{Engine, JobError};
use crate::store::{self, RunRecord, Store};

impl Engine<'_> {
    /// Places the stage's published files at their user-visible paths, if they differ.
    /// Returns the paths that were (re)written.
    pub fn publish(&self, index: usize, record: &RunRecord) -> Result<Vec<String>, JobError> {
        let stage = &self.plan.stages[index];
        let mut written = Vec::new();
        for (inside, destination) in stage.stage.publishes() {
            let source = self.store.output_path(&record.output).join(&inside);
            let target = self.plan.root.join(&destination);
            if self.same_content(&source, &target) {
                continue;
            }
            replace_atomically(&source, &target).map_err(JobError::io(format!("publishing `{destination}`")))?;
            written.push(destination);
        }
        Ok(written)
    }

    /// Whether published paths are in place (for `status`).
    pub fn published_paths_current(&self, index: usize, record: &RunRecord) -> Vec<String> {
        let stage = &self.plan.stages[index];
        stage.stage.publishes().into_iter()
            .filter(|(inside, destination)| {
                !self.same_content(&self.store.output_path(&record.output).join(inside), &self.plan.root.join(destination))
            })
            .map(|(_, destination)| destination)
            .collect()
    }

    fn same_content(&self, a: &Path, b: &Path) -> bool {
        match (self.hasher.snapshot(a), self.hasher.snapshot(b)) {
            (Ok(x), Ok(y)) => x.digest == y.digest,
            _ => false,
        }
    }
}

/// Copies `source` next to `target` and renames it into place (a folder replaces a folder).
fn replace_atomically(source: &Path, target: &Path) -> std::io::Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let temp = store::temp_sibling(target);
    pipeline_api::copy_path(source, &temp)?;
    if target.is_dir() {
        let old = store::temp_sibling(target);
        std::fs::rename(target, &old)?;
        std::fs::rename(&temp, target)?;
        return store::remove_tree(&old);
    }
    std::fs::rename(&temp, target)
}
