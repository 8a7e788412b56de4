//! Publishing: a stage's results placed at user-visible paths of the project, each replaced
//! atomically, and whether they are still in place (for `status`).
//!
//! A destination stays inside the project: every existing folder on its path is resolved (symlinks
//! followed) and one that leads out of the root, or into the cache or `.git`, is refused (in
//! `bounds`; validation asks the same before anything runs). The placement itself (in `place`)
//! re-checks the folder right before the rename, under a lock on the destination so that
//! concurrent runs take turns.

pub(crate) mod bounds;
mod earlier;
mod place;

use std::path::Path;

use bounds::{Bounds, Refusal};

use crate::cache::lock;
use crate::cache::store::RunRecord;
use crate::run::job::{JobError, RunContext};

impl RunContext<'_> {
    /// Places the stage's published files at their user-visible paths, if they differ.
    /// Returns the paths that were (re)written.
    pub fn publish(&self, index: usize, record: &RunRecord) -> Result<Vec<String>, JobError> {
        let stage = &self.plan.stages[index];
        let cache = self.cache.base().parent().unwrap_or(self.cache.base());
        let bounds = Bounds::new(&self.plan.root, cache)
            .map_err(JobError::io("resolving the project root"))?;
        let mut written = Vec::new();
        for (inside, destination) in stage.configured.publishes() {
            let source = self.store.output_path(&record.output).join(&inside);
            let target = bounds
                .resolve(&destination)
                .map_err(|refusal| match refusal {
                    Refusal::Refused(why) => {
                        JobError::Invalid(format!("cannot publish `{destination}`: {why}"))
                    }
                    Refusal::Io(what, error) => JobError::io(what)(error),
                })?;
            let lock_name = format!(
                "publish-{}",
                &blake3::hash(target.path().as_os_str().as_encoded_bytes()).to_hex()[..32]
            );
            let _lock = lock::acquire(&self.cache.lock_path(&lock_name), |_| {})
                .map_err(JobError::io(format!("taking the lock on `{destination}`")))?;
            place::remove_leftovers(&target.parent, &target.name);
            if self.same_content(&source, &target.path()) {
                continue;
            }
            if let Some(why) = self.foreign_destination(index, &inside, &source, &target.path()) {
                return Err(JobError::Invalid(format!(
                    "cannot publish `{destination}`: {why}"
                )));
            }
            place::replace(&source, &target.parent, &target.name, |real| {
                bounds.check(real)
            })
            .map_err(JobError::io(format!("publishing `{destination}`")))?;
            written.push(destination);
        }
        Ok(written)
    }

    /// Whether published paths are in place (for `status`).
    pub fn published_paths_current(&self, index: usize, record: &RunRecord) -> Vec<String> {
        let stage = &self.plan.stages[index];
        stage
            .configured
            .publishes()
            .into_iter()
            .filter(|(inside, destination)| {
                !self.same_content(
                    &self.store.output_path(&record.output).join(inside),
                    &self.plan.root.join(destination),
                )
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
