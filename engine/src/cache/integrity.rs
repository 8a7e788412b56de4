//! Cached outputs are trusted only while their bytes still match their names: an output found in
//! the cache is re-checked before it is used, and the outputs a stage reads are re-checked after
//! it ran, so a stage that writes into its inputs fails instead of corrupting what it read.
//!
//! Both checks cost a walk of stat calls: the stat snapshot knows the digest of every file the
//! store holds, and only a file whose size, times or inode changed is read again.

use std::path::{Path, PathBuf};

use crate::cache::hashing::Snapshot;
use crate::cache::ids::{Digest, StageKey};
use crate::cache::store::RunRecord;
use crate::run::job::{JobError, KeyedJob, RunContext};

/// The outputs of other stages a stage receives, as they were before it ran.
pub struct InputGuard {
    /// (upstream stage index, its output digest, what the object held before the run)
    objects: Vec<(usize, Digest, Option<Snapshot>)>,
}

impl RunContext<'_> {
    /// The cached result of `key`, if any and intact. A damaged output is taken out of the cache
    /// (with a warning), so the stage is computed again.
    pub fn lookup(&self, key: &StageKey) -> Option<RunRecord> {
        let record = self.store.lookup(key)?;
        match self.damage(&record.output, None) {
            None => Some(record),
            Some(change) => {
                tracing::warn!(
                    "the cached output of `{}` was damaged ({change}); it was removed and the stage runs again",
                    record.stage
                );
                self.discard(&record.output);
                None
            }
        }
    }

    /// Records what the upstream outputs `job` reads hold now.
    pub fn guard_inputs(&self, job: &KeyedJob) -> InputGuard {
        let objects = job
            .upstream
            .iter()
            .map(|(stage, digest)| {
                (
                    *stage,
                    digest.clone(),
                    self.hasher.snapshot(&self.store.output_path(digest)).ok(),
                )
            })
            .collect();
        InputGuard { objects }
    }

    /// Fails if the stage changed any upstream output it was handed; a changed one is taken out
    /// of the cache so that its stage is recomputed on the next run.
    pub fn check_guard(&self, stage: &str, guard: InputGuard) -> Result<(), JobError> {
        for (upstream, digest, before) in guard.objects {
            let Some(change) = self.damage(&digest, before.as_ref()) else {
                continue;
            };
            self.discard(&digest);
            let name = &self.plan.stages[upstream].name;
            if before.is_none_or(|before| before.digest.to_hex().as_str() != digest.as_str()) {
                return Err(JobError::Invalid(format!(
                    "the cached output of `{name}` that `{stage}` read was damaged before it ran ({change}); it was \
                     removed from the cache: run again to compute it anew"
                )));
            }
            return Err(JobError::Invalid(format!(
                "stage `{stage}` wrote into its input `@{name}` ({change}). Its result was not cached, and the \
                 damaged output of `{name}` was removed from the cache so that the next run computes it again. \
                 A stage must treat its inputs as read-only and write only below its output folder"
            )));
        }
        Ok(())
    }

    /// What differs between the stored output `digest` and its name, if anything.
    fn damage(&self, digest: &Digest, before: Option<&Snapshot>) -> Option<String> {
        let root = self.store.output_path(digest);
        let now = match self.hasher.snapshot(&root) {
            Ok(now) => now,
            Err(error) => return Some(format!("it cannot be read: {error}")),
        };
        if now.digest.to_hex().as_str() == digest.as_str() {
            return None;
        }
        let changed = before.and_then(|before| first_change(&root, before, &now));
        Some(changed.map_or_else(
            || "its files no longer match its digest".to_string(),
            |file| format!("`{file}` changed"),
        ))
    }

    fn discard(&self, digest: &Digest) {
        if let Err(error) = self.store.discard_output(digest) {
            tracing::warn!("could not remove the damaged output {digest}: {error}");
        }
    }
}

/// The first file (relative to `root`) added, removed or rewritten between two snapshots.
fn first_change(root: &Path, before: &Snapshot, now: &Snapshot) -> Option<String> {
    let relative = |path: &PathBuf| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let old: std::collections::HashMap<&PathBuf, _> = before
        .files
        .iter()
        .map(|(path, stat)| (path, stat))
        .collect();
    let rewritten = now
        .files
        .iter()
        .find(|(path, stat)| old.get(path) != Some(&stat));
    if let Some((path, _)) = rewritten {
        return Some(relative(path));
    }
    let kept: std::collections::HashSet<&PathBuf> =
        now.files.iter().map(|(path, _)| path).collect();
    before
        .files
        .iter()
        .find(|(path, _)| !kept.contains(path))
        .map(|(path, _)| format!("{} (removed)", relative(path)))
}
