//! What a destination of the other kind may be replaced by. Publishing a file where a folder is
//! (or a folder where a file is) would wipe what is there; that is only right when it is an
//! earlier publish of the same stage, whose output changed kind. The run history names the
//! stage's earlier results (a stage is recorded as done only once it has published); one of them
//! must have published exactly what is there now. Anything else is the user's, and is left alone.

use std::collections::HashSet;
use std::path::Path;

use crate::cache::ledger::{self, Outcome};
use crate::run::job::RunContext;

/// How many of the stage's latest results are compared with what is at the destination.
const EARLIER_RESULTS: usize = 20;

impl RunContext<'_> {
    /// Why `source` (at `inside` in the output of stage `index`) may not replace `target`, if it
    /// may not: `target` is of the other kind and no earlier publish of the stage.
    pub(super) fn foreign_destination(
        &self,
        index: usize,
        inside: &str,
        source: &Path,
        target: &Path,
    ) -> Option<String> {
        let existing = std::fs::symlink_metadata(target).ok()?;
        let kind = |folder: bool| if folder { "a folder" } else { "a file" };
        let (there, published) = (existing.is_dir(), source.is_dir());
        if there == published || self.published_earlier(index, inside, target) {
            return None;
        }
        Some(format!(
            "{} is there, which stage `{}` did not publish, and it publishes {}; move it away or choose another `path`",
            kind(there),
            self.plan.stages[index].name,
            kind(published)
        ))
    }

    /// Whether `target` holds what one of the stage's latest results published.
    fn published_earlier(&self, index: usize, inside: &str, target: &Path) -> bool {
        let name = &self.plan.stages[index].name;
        let mut keys = HashSet::new();
        ledger::read(&self.cache.ledger_file())
            .into_iter()
            .rev()
            .filter(|entry| {
                entry.stage == *name
                    && entry.pipeline == self.pipeline_id
                    && matches!(entry.outcome, Outcome::Hit | Outcome::Ran)
            })
            .filter_map(|entry| entry.key)
            .filter(|key| keys.insert(key.clone()))
            .take(EARLIER_RESULTS)
            .filter_map(|key| self.store.lookup(&key))
            .any(|record| {
                self.same_content(&self.store.output_path(&record.output).join(inside), target)
            })
    }
}
