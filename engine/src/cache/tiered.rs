//! The local cache in front of a shared remote one, behind the [`Store`] trait: the local folder
//! stays the working tier (stages read their inputs there). A key the local cache misses is looked
//! up remotely; its output is downloaded into a private folder, unpacked, and hashed, and enters
//! the local cache only when its digest is the record's (a corrupt or truncated remote object is
//! refused with a warning, and the stage runs instead). A result committed locally is then
//! uploaded: output first, record last. An upload is pending from its start until its record is
//! on the remote (`uploads/<key>.json` in the local cache, with the parts sent so far): a later
//! lookup of that key, or `pipeline cache push`, finishes it, sending only what is missing. A
//! remote that cannot be reached costs a warning, never a run.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use pipeline_api::{Progress, SilentProgress};

use crate::cache::hashing::ContentHasher;
use crate::cache::ids::{Digest, StageKey};
use crate::cache::lock::{self, KeyLock};
use crate::cache::remote::Remote;
use crate::cache::remote::upload::{self, Sent, UploadState};
use crate::cache::stat_cache::StatCache;
use crate::cache::store::{self, LocalStore, RunRecord, Store};

/// One output moved between the tiers, for the run's progress lines.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// `"pulled"` or `"pushed"`.
    pub direction: &'static str,
    pub stage: String,
    pub bytes: u64,
    /// Bytes an earlier, interrupted attempt had already sent (not counted in `bytes`).
    pub reused: u64,
    pub seconds: f64,
}

/// Shows transfers as they happen.
pub trait TransferWatcher: Send + Sync {
    /// A progress handle for moving the output of `stage` (`"push"` or `"pull"`), in bytes;
    /// dropped when the transfer ends.
    fn started(&self, direction: &'static str, stage: &str) -> Box<dyn Progress>;
    /// An output moved.
    fn finished(&self, transfer: &Transfer);
}

/// The local folder, and the remote behind it.
pub struct TieredStore {
    local: LocalStore,
    remote: Remote,
    /// The run's stat snapshot: a pulled output is hashed once, and the integrity check that
    /// follows its lookup finds its files already known.
    stat_cache: Arc<StatCache>,
    watcher: OnceLock<Arc<dyn TransferWatcher>>,
    /// The remote failed once: this process goes on with the local cache alone.
    unreachable: AtomicBool,
}

impl TieredStore {
    pub fn new(local: LocalStore, remote: Remote, stat_cache: Arc<StatCache>) -> Self {
        Self {
            local,
            remote,
            stat_cache,
            unreachable: AtomicBool::new(false),
            watcher: OnceLock::new(),
        }
    }

    /// Shows each transfer on `watcher` (once; later calls are ignored).
    pub fn watch(&self, watcher: Arc<dyn TransferWatcher>) {
        let _ = self.watcher.set(watcher);
    }

    fn progress(&self, direction: &'static str, stage: &str) -> Box<dyn Progress> {
        match self.watcher.get() {
            Some(watcher) => watcher.started(direction, stage),
            None => Box::new(SilentProgress),
        }
    }

    fn transferred(&self, direction: &'static str, stage: &str, sent: Sent, started: Instant) {
        if let Some(watcher) = self.watcher.get() {
            watcher.finished(&Transfer {
                direction,
                stage: stage.to_string(),
                bytes: sent.bytes,
                reused: sent.reused,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }

    /// Where the pending upload of `key` keeps its state.
    fn pending(&self, key: &StageKey) -> PathBuf {
        self.local
            .base()
            .join("uploads")
            .join(format!("{}.json", key.as_str()))
    }

    /// Gives up on the remote for the rest of this process, saying why once.
    fn give_up(&self, error: &str) {
        if !self.unreachable.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the remote cache {} failed ({error}); the rest of this run uses the local cache alone",
                self.remote.url
            );
        }
    }

    fn reachable(&self) -> bool {
        !self.unreachable.load(Ordering::Relaxed)
    }

    /// An empty folder under the local staging area for the transfer of `name` (a digest or a
    /// key), with the lock of its name held: a second transfer of the same thing waits for the
    /// first, and a run cleaning up staging folders leaves it alone while it lasts (and removes
    /// it once a killed process has let go of the lock).
    fn scratch(&self, name: &str) -> io::Result<(PathBuf, KeyLock)> {
        let folder_name = format!(".remote-{name}");
        let held = lock::acquire(&self.local.lock_path(&folder_name), |_| {})?;
        let folder = self.local.base().join("staging").join(folder_name);
        store::remove_tree(&folder)?;
        std::fs::create_dir_all(&folder)?;
        Ok((folder, held))
    }

    /// Brings `record`'s output into the local cache; `false` when it is missing or damaged.
    fn pull_output(&self, record: &RunRecord) -> bool {
        if self.local.output_path(&record.output).is_dir() {
            return true;
        }
        let Ok((scratch, _held)) = self.scratch(record.output.as_str()) else {
            return false;
        };
        // Another process may have brought it while this one waited for the lock.
        if self.local.output_path(&record.output).is_dir() {
            return true;
        }
        let folder = scratch.join("out");
        let started = Instant::now();
        let progress = self.progress("pull", &record.stage);
        let fetched = self
            .remote
            .fetch_output(&record.output, &folder, progress.as_ref());
        drop(progress);
        let kept = match fetched {
            Ok(Some(bytes)) => {
                let kept = self.verify_and_keep(record, &folder);
                if kept {
                    let sent = Sent { bytes, reused: 0 };
                    self.transferred("pulled", &record.stage, sent, started);
                }
                kept
            }
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(
                    "the remote output of `{}` could not be used ({error}); the stage runs instead",
                    record.stage
                );
                false
            }
        };
        let _ = store::remove_tree(&scratch);
        kept
    }

    fn verify_and_keep(&self, record: &RunRecord, folder: &Path) -> bool {
        // Read-only first, as a local commit does: the hashed stats are those the files keep.
        let digest = store::make_read_only(folder).and_then(|()| {
            let snapshot = ContentHasher::new(&self.stat_cache).snapshot(folder)?;
            Ok(Digest::from(snapshot.digest))
        });
        match digest {
            Ok(digest) if digest == record.output => {}
            Ok(digest) => {
                tracing::warn!(
                    "the remote output of `{}` is damaged: its digest is {digest}, its record says {}; it was not used and the stage runs instead",
                    record.stage,
                    record.output
                );
                return false;
            }
            Err(error) => {
                tracing::warn!("hashing the remote output of `{}`: {error}", record.stage);
                return false;
            }
        }
        match self.local.put_output(folder, &record.output) {
            Ok(stored) => {
                self.stat_cache.moved(folder, &stored);
                true
            }
            Err(error) => {
                tracing::warn!("keeping the remote output of `{}`: {error}", record.stage);
                false
            }
        }
    }

    /// Uploads a locally committed result unless the remote has its record: its output, then
    /// its record. `Ok(false)`: the remote had it. An earlier attempt killed halfway is resumed.
    pub fn push(&self, record: &RunRecord) -> Result<bool, String> {
        let _held = lock::acquire(
            &self
                .local
                .lock_path(&format!(".remote-{}", record.key.as_str())),
            |_| {},
        )
        .map_err(|e| format!("locking the upload of `{}`: {e}", record.stage))?;
        let pending = self.pending(&record.key);
        if self.remote.record(&record.key)?.is_some() {
            upload::abandon(&self.remote, &pending);
            let _ = std::fs::remove_file(&pending);
            return Ok(false);
        }
        if !pending.exists() {
            UploadState::default()
                .save(&pending)
                .map_err(|e| format!("writing {}: {e}", pending.display()))?;
        }
        let output = self.local.output_path(&record.output);
        let started = Instant::now();
        let progress = self.progress("push", &record.stage);
        progress.start(record.output_bytes, "bytes");
        let pushed = self
            .remote
            .push_output(&record.output, &output, &pending, progress.as_ref());
        drop(progress);
        // The record only once its output is there: a reader never finds one without the other.
        let sent = pushed?;
        let created = self.remote.push_record(record)?;
        let _ = std::fs::remove_file(&pending);
        if let (Some(sent), true) = (sent, created) {
            self.transferred("pushed", &record.stage, sent, started);
        }
        Ok(created)
    }
}

impl Store for TieredStore {
    fn lookup(&self, key: &StageKey) -> Option<RunRecord> {
        if let Some(record) = self.local.lookup(key) {
            // An upload of this result was interrupted: finish it while the remote answers.
            if self.reachable()
                && self.pending(key).exists()
                && let Err(error) = self.push(&record)
            {
                self.give_up(&error);
            }
            return Some(record);
        }
        if !self.reachable() {
            return None;
        }
        let record = match self.remote.record(key) {
            Ok(record) => record?,
            Err(error) => {
                self.give_up(&error);
                return None;
            }
        };
        if record.key != *key || !self.pull_output(&record) {
            return None;
        }
        self.local.put_record(&record).ok()?;
        Some(record)
    }

    fn put_output(&self, folder: &Path, digest: &Digest) -> io::Result<PathBuf> {
        self.local.put_output(folder, digest)
    }

    fn put_record(&self, record: &RunRecord) -> io::Result<()> {
        self.local.put_record(record)?;
        if self.reachable()
            && let Err(error) = self.push(record)
        {
            self.give_up(&error);
        }
        Ok(())
    }

    fn output_path(&self, digest: &Digest) -> PathBuf {
        self.local.output_path(digest)
    }

    fn discard_output(&self, digest: &Digest) -> io::Result<()> {
        self.local.discard_output(digest)
    }
}
