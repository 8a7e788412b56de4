//! The local cache in front of a shared remote one, behind the [`Store`] trait: the local folder
//! stays the working tier (stages read their inputs there). A key the local cache misses is looked
//! up remotely; its output is downloaded into a private folder, unpacked, and hashed, and enters
//! the local cache only when its digest is the record's (a corrupt or truncated remote object is
//! refused with a warning, and the stage runs instead). A result committed locally is then
//! uploaded: output first, record last. A remote that cannot be reached costs a warning, never a
//! run.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::cache::hashing::ContentHasher;
use crate::cache::ids::{Digest, StageKey};
use crate::cache::lock::{self, KeyLock};
use crate::cache::remote::Remote;
use crate::cache::stat_cache::StatCache;
use crate::cache::store::{self, LocalStore, RunRecord, Store};

/// One output moved between the tiers, for the run's progress lines.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// `"pulled"` or `"pushed"`.
    pub direction: &'static str,
    pub stage: String,
    pub bytes: u64,
    pub seconds: f64,
}

/// Hears of each transfer.
type Announce = Box<dyn Fn(&Transfer) + Send + Sync>;

/// The local folder, and the remote behind it.
pub struct TieredStore {
    local: LocalStore,
    remote: Remote,
    /// The run's stat snapshot: a pulled output is hashed once, and the integrity check that
    /// follows its lookup finds its files already known.
    stat_cache: Arc<StatCache>,
    announce: OnceLock<Announce>,
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
            announce: OnceLock::new(),
        }
    }

    /// Calls `announce` after each output pulled or pushed (once; later calls are ignored).
    pub fn on_transfer(&self, announce: impl Fn(&Transfer) + Send + Sync + 'static) {
        let _ = self.announce.set(Box::new(announce));
    }

    fn transferred(&self, direction: &'static str, stage: &str, bytes: u64, started: Instant) {
        if let Some(announce) = self.announce.get() {
            announce(&Transfer {
                direction,
                stage: stage.to_string(),
                bytes,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
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
        let fetched = self.remote.fetch_output(&record.output, &folder);
        let kept = match fetched {
            Ok(Some(bytes)) => {
                let kept = self.verify_and_keep(record, &folder);
                if kept {
                    self.transferred("pulled", &record.stage, bytes, started);
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
    /// its record. `Ok(false)`: the remote had it.
    pub fn push(&self, record: &RunRecord) -> Result<bool, String> {
        if self.remote.record(&record.key)?.is_some() {
            return Ok(false);
        }
        let (scratch, _held) = self
            .scratch(record.key.as_str())
            .map_err(|e| format!("making a transfer folder: {e}"))?;
        let output = self.local.output_path(&record.output);
        let started = Instant::now();
        let pushed = self
            .remote
            .push_output(&record.output, &output, &scratch.join("output.tar"));
        let _ = store::remove_tree(&scratch);
        // The record only once its output is there: a reader never finds one without the other.
        let bytes = pushed?;
        let created = self.remote.push_record(record)?;
        if let (Some(bytes), true) = (bytes, created) {
            self.transferred("pushed", &record.stage, bytes, started);
        }
        Ok(created)
    }
}

impl Store for TieredStore {
    fn lookup(&self, key: &StageKey) -> Option<RunRecord> {
        if let Some(record) = self.local.lookup(key) {
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
