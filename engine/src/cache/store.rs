//! The cache: stage outputs in a content-addressed object store, a run cache mapping stage keys
//! to results, staging folders, locks and logs. Layout under the cache folder:
//!
//! ```text
//! v1/objects/<d[..2]>/<digest>/   a stage's output folder, immutable, named by its tree digest
//! v1/runs/<k[..2]>/<key>.json     run record: key manifest -> output digest (the commit point)
//! v1/staging/<key>/               a run in progress (kept for resumable stages: `.resumable`)
//! v1/locks/<key>.lock             held while a process works on a key
//! v1/last/<pipeline>/<stage>.json the last key of each stage, to explain what changed
//! v1/logs/<run-id>/<stage>.log    each stage's log
//! v1/ledger.jsonl                 run history
//! v1/stat.bin                     stat snapshot of hashed files
//! ```
//!
//! An output folder is renamed into `objects/` whole and the run record written by rename after
//! it, so a killed run leaves nothing that looks complete.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::cache::ids::{Digest, RunId, StageKey};
use crate::cache::key::KeyManifest;
use crate::cache::lock::{self, KeyLock};

/// What the cache keeps about a finished stage run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub key: StageKey,
    pub stage: String,
    pub manifest: KeyManifest,
    /// Each input's paths as written in the manifest (not part of the key).
    pub sources: BTreeMap<String, Vec<String>>,
    /// Tree digest of the output folder.
    pub output: Digest,
    pub output_bytes: u64,
    pub duration_s: f64,
    pub finished_unix: u64,
    pub run_id: RunId,
}

/// Where results are kept: run records by key, outputs by digest. The engine's jobs reach
/// results only through this trait ([`crate::run::job::RunContext::store`]); the local folder
/// ([`LocalStore`]) is the one implementation today, and the working tier of any other: outputs
/// are handed to stages as local paths. Locks, staging folders, logs and the run history are not
/// results: they belong to the local folder alone.
pub trait Store: Send + Sync {
    /// The record of `key`, if its output is still present.
    fn lookup(&self, key: &StageKey) -> Option<RunRecord>;
    /// Moves a finished output folder into the store under its digest; returns where it lives.
    fn put_output(&self, folder: &Path, digest: &Digest) -> io::Result<PathBuf>;
    /// Commits a run: after this, `lookup(record.key)` finds it.
    fn put_record(&self, record: &RunRecord) -> io::Result<()>;
    /// Where the output with `digest` lives.
    fn output_path(&self, digest: &Digest) -> PathBuf;
    /// Takes a damaged output out of the store, so that every key whose result it was misses
    /// and is recomputed. Moved aside first: no reader ever sees it half removed.
    fn discard_output(&self, digest: &Digest) -> io::Result<()>;
}

/// The cache in a local folder.
#[derive(Clone)]
pub struct LocalStore {
    base: PathBuf,
}

impl LocalStore {
    pub fn open(cache_dir: &Path) -> io::Result<Self> {
        let base = cache_dir.join("v1");
        for sub in ["objects", "runs", "staging", "locks", "last", "logs"] {
            std::fs::create_dir_all(base.join(sub))?;
        }
        Ok(Self { base })
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    pub fn objects_dir(&self) -> PathBuf {
        self.base.join("objects")
    }

    pub fn stat_file(&self) -> PathBuf {
        self.base.join("stat.bin")
    }

    pub fn ledger_file(&self) -> PathBuf {
        self.base.join("ledger.jsonl")
    }

    pub fn log_file(&self, run_id: &RunId, stage: &str) -> PathBuf {
        self.base
            .join("logs")
            .join(run_id.as_str())
            .join(format!("{}.log", file_safe(stage)))
    }

    /// Adds `text` at the end of a stage's log (on a line of its own), creating the log if the
    /// stage wrote none.
    pub fn append_log(&self, run_id: &RunId, stage: &str, text: &str) -> io::Result<PathBuf> {
        use std::io::{Read, Seek, SeekFrom, Write};
        let path = self.log_file(run_id, stage);
        std::fs::create_dir_all(path.parent().expect("logs live in a folder"))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        let mut last = [b'\n'];
        if file.metadata()?.len() > 0 {
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
        }
        let separator = if last[0] == b'\n' { "" } else { "\n" };
        file.write_all(format!("{separator}{}\n", text.trim_end()).as_bytes())?;
        Ok(path)
    }

    fn record_path(&self, key: &StageKey) -> PathBuf {
        let key = key.as_str();
        self.base
            .join("runs")
            .join(&key[..2.min(key.len())])
            .join(format!("{key}.json"))
    }

    fn last_path(&self, pipeline: &str, stage: &str) -> PathBuf {
        self.base
            .join("last")
            .join(pipeline)
            .join(format!("{}.json", file_safe(stage)))
    }

    /// The record of the last run of `stage` in `pipeline`, whether or not it is current.
    pub fn last(&self, pipeline: &str, stage: &str) -> Option<RunRecord> {
        read_record(&self.last_path(pipeline, stage))
    }

    pub fn set_last(&self, pipeline: &str, record: &RunRecord) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        write_atomic(&self.last_path(pipeline, &record.stage), &json)
    }

    /// Every run record in the cache.
    pub fn records(&self) -> Vec<(PathBuf, Option<RunRecord>)> {
        let mut found = Vec::new();
        for shard in read_dir_paths(&self.base.join("runs")) {
            for file in read_dir_paths(&shard) {
                if file.extension().is_some_and(|e| e == "json") {
                    let record = read_record(&file);
                    found.push((file, record));
                }
            }
        }
        found
    }

    /// Every output folder: (digest, path).
    pub fn outputs(&self) -> Vec<(Digest, PathBuf)> {
        read_dir_paths(&self.objects_dir())
            .iter()
            .flat_map(|shard| read_dir_paths(shard))
            .filter_map(|path| Some((path.file_name()?.to_str()?.to_string(), path)))
            .filter(|(name, _)| !name.starts_with('.'))
            .map(|(name, path)| (Digest::new(name), path))
            .collect()
    }

    pub fn staging_dirs(&self) -> Vec<PathBuf> {
        read_dir_paths(&self.base.join("staging"))
    }

    /// The lock file named `name`: a stage key's (see [`LocalStore::lock`]), or another lock of the
    /// cache such as a publish destination's.
    pub fn lock_path(&self, name: &str) -> PathBuf {
        self.base.join("locks").join(format!("{name}.lock"))
    }

    /// Staging folders no process works in, each with its key's lock now held by us so that no
    /// run starts in it while it is removed. A folder holding the `.resumable` marker (a stage
    /// that resumes a killed run from its staging) is left out unless `with_resumable`.
    pub fn idle_staging(&self, with_resumable: bool) -> Vec<(PathBuf, KeyLock)> {
        let mut idle = Vec::new();
        for staging in self.staging_dirs() {
            let Some(key) = staging.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !with_resumable && staging.join(RESUMABLE_MARKER).exists() {
                continue;
            }
            if let Ok(Some(lock)) = lock::try_acquire(&self.lock_path(key)) {
                idle.push((staging.clone(), lock));
            }
        }
        idle
    }

    /// Blocks until this process alone works on `key` (`on_wait` hears the holder's pid).
    pub fn lock(
        &self,
        key: &StageKey,
        on_wait: &mut dyn FnMut(Option<u32>),
    ) -> io::Result<KeyLock> {
        lock::acquire(&self.lock_path(key.as_str()), on_wait)
    }

    /// The private folder where the run of `key` happens.
    pub fn staging(&self, key: &StageKey) -> PathBuf {
        self.base.join("staging").join(key.as_str())
    }
}

/// The file in `staging/<key>/` that keeps it for a resumable stage until `pipeline cache gc`.
pub const RESUMABLE_MARKER: &str = ".resumable";

impl Store for LocalStore {
    fn lookup(&self, key: &StageKey) -> Option<RunRecord> {
        let record = read_record(&self.record_path(key))?;
        self.output_path(&record.output).is_dir().then_some(record)
    }

    fn put_output(&self, folder: &Path, digest: &Digest) -> io::Result<PathBuf> {
        let target = self.output_path(digest);
        if target.is_dir() {
            remove_tree(folder)?;
            return Ok(target);
        }
        std::fs::create_dir_all(target.parent().expect("objects have a shard folder"))?;
        match std::fs::rename(folder, &target) {
            Ok(()) => Ok(target),
            // Another process published the same bytes first.
            Err(_) if target.is_dir() => {
                remove_tree(folder)?;
                Ok(target)
            }
            Err(error) => Err(error),
        }
    }

    fn put_record(&self, record: &RunRecord) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        write_atomic(&self.record_path(&record.key), &json)
    }

    fn output_path(&self, digest: &Digest) -> PathBuf {
        let digest = digest.as_str();
        self.objects_dir()
            .join(&digest[..2.min(digest.len())])
            .join(digest)
    }

    fn discard_output(&self, digest: &Digest) -> io::Result<()> {
        let path = self.output_path(digest);
        // Hidden names in a shard are not outputs (see `outputs`).
        let aside = temp_sibling(&path);
        match std::fs::rename(&path, &aside) {
            Ok(()) => remove_tree(&aside),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn read_record(path: &Path) -> Option<RunRecord> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(record) => Some(record),
        Err(error) => {
            tracing::warn!("ignoring corrupt cache record {}: {error}", path.display());
            None
        }
    }
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// Stage names hold `[`, `=` and `,`; keep file names to a portable set.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.=,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes a file through a temporary sibling and a rename: readers see the old or the new bytes.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let temp = temp_sibling(path);
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// A unique hidden name next to `path`, for atomic replacement.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let count = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{count}", std::process::id()))
}

/// Removes a folder even where its files were made read-only.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes every file below `path` read-only, so no later stage edits a cached output in place.
pub fn make_read_only(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            make_read_only(&entry?.path())?;
        }
    } else if meta.is_file() {
        let mut permissions = meta.permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(path, permissions)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::key::KEY_SCHEMA;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalStore::open(&dir.path().join("cache")).expect("cache opens");
        (dir, store)
    }

    /// A finished output folder holding `text`, and its digest (not checked by the store).
    fn output(dir: &Path, text: &str) -> (PathBuf, Digest) {
        let folder = dir.join(format!("out-{text}"));
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(folder.join("out.txt"), text).expect("write");
        (folder, Digest::from(blake3::hash(text.as_bytes())))
    }

    fn record(key: &StageKey, output: &Digest) -> RunRecord {
        RunRecord {
            key: key.clone(),
            stage: "a".into(),
            manifest: KeyManifest {
                schema: KEY_SCHEMA.into(),
                kind: "emit".into(),
                version: "1".into(),
                params: serde_json::json!({}),
                inputs: BTreeMap::new(),
            },
            sources: BTreeMap::new(),
            output: output.clone(),
            output_bytes: 2,
            duration_s: 0.5,
            finished_unix: 1,
            run_id: RunId::new("1-2"),
        }
    }

    #[test]
    fn a_committed_run_is_found_by_its_key_with_its_output_in_the_store() {
        let (dir, store) = store();
        let key = StageKey::new("ab".repeat(32));
        assert!(store.lookup(&key).is_none());
        let (folder, digest) = output(dir.path(), "hi");
        let stored = store.put_output(&folder, &digest).expect("stored");
        assert!(!folder.exists(), "the output folder is moved, not copied");
        assert_eq!(stored, store.output_path(&digest));
        assert_eq!(
            std::fs::read_to_string(stored.join("out.txt")).unwrap(),
            "hi"
        );
        store.put_record(&record(&key, &digest)).expect("committed");
        let found = store.lookup(&key).expect("a hit");
        assert_eq!((found.key, found.output), (key, digest));
        assert!(store.lookup(&StageKey::new("cd".repeat(32))).is_none());
    }

    #[test]
    fn outputs_live_under_the_store_in_shards_named_by_their_digest() {
        let (dir, store) = store();
        let digest = Digest::new("0f".repeat(32));
        let path = store.output_path(&digest);
        assert_eq!(
            path,
            dir.path().join("cache/v1/objects/0f").join(digest.as_str())
        );
        assert!(path.starts_with(store.objects_dir()));
        assert_eq!(
            store.staging(&StageKey::new("k1")),
            store.base().join("staging/k1")
        );
        assert_eq!(store.lock_path("k1"), store.base().join("locks/k1.lock"));
    }

    #[test]
    fn a_record_whose_output_is_gone_is_not_a_hit() {
        let (dir, store) = store();
        let key = StageKey::new("12".repeat(32));
        let (folder, digest) = output(dir.path(), "gone");
        store.put_output(&folder, &digest).expect("stored");
        store.put_record(&record(&key, &digest)).expect("committed");
        assert!(store.lookup(&key).is_some());
        store.discard_output(&digest).expect("discarded");
        assert!(!store.output_path(&digest).exists());
        assert!(store.lookup(&key).is_none());
        assert!(
            store.outputs().is_empty(),
            "nothing is left aside in the shard"
        );
        // The record itself stays (for `cache gc`); discarding twice is no error.
        assert_eq!(store.records().len(), 1);
        store.discard_output(&digest).expect("nothing to discard");
    }

    #[test]
    fn the_same_output_stored_twice_is_kept_once() {
        let (dir, store) = store();
        let (first, digest) = output(dir.path(), "same");
        store.put_output(&first, &digest).expect("stored");
        let second = dir.path().join("again");
        std::fs::create_dir_all(&second).expect("folder");
        std::fs::write(second.join("out.txt"), "same").expect("write");
        let stored = store.put_output(&second, &digest).expect("stored again");
        assert_eq!(stored, store.output_path(&digest));
        assert!(!second.exists(), "the duplicate folder is removed");
        let outputs: Vec<Digest> = store.outputs().into_iter().map(|(d, _)| d).collect();
        assert_eq!(outputs, [digest]);
    }

    #[test]
    fn a_corrupt_record_is_no_hit() {
        let (dir, store) = store();
        let key = StageKey::new("34".repeat(32));
        let (folder, digest) = output(dir.path(), "x");
        store.put_output(&folder, &digest).expect("stored");
        store.put_record(&record(&key, &digest)).expect("committed");
        let (path, _) = store.records().pop().expect("one record");
        std::fs::write(&path, "{ not json").expect("damage");
        assert!(store.lookup(&key).is_none());
        assert!(store.records()[0].1.is_none(), "listed as unreadable");
    }

    #[test]
    fn the_last_run_of_a_stage_is_remembered_per_pipeline() {
        let (dir, store) = store();
        let (folder, digest) = output(dir.path(), "last");
        store.put_output(&folder, &digest).expect("stored");
        let key = StageKey::new("56".repeat(32));
        let mut last = record(&key, &digest);
        last.stage = "train[seed=1]".into();
        store.set_last("p1", &last).expect("remembered");
        assert_eq!(store.last("p1", "train[seed=1]").map(|r| r.key), Some(key));
        assert!(store.last("p2", "train[seed=1]").is_none());
    }

    #[test]
    fn idle_staging_leaves_held_and_resumable_folders() {
        let (_dir, store) = store();
        let (held, resumable, idle) = (
            StageKey::new("held"),
            StageKey::new("resumable"),
            StageKey::new("idle"),
        );
        for key in [&held, &resumable, &idle] {
            std::fs::create_dir_all(store.staging(key)).expect("staging");
        }
        std::fs::write(store.staging(&resumable).join(RESUMABLE_MARKER), b"").expect("mark");
        let _lock = store.lock(&held, &mut |_| {}).expect("locked");
        let names = |found: Vec<(PathBuf, KeyLock)>| -> Vec<String> {
            found
                .iter()
                .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(store.idle_staging(false)), ["idle"]);
        assert_eq!(names(store.idle_staging(true)), ["idle", "resumable"]);
    }

    #[test]
    fn appended_log_text_starts_on_a_line_of_its_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalStore::open(dir.path()).expect("cache opens");
        let path = store
            .append_log(&RunId::new("run"), "a[x=1]", "created")
            .expect("log written");
        assert_eq!(std::fs::read_to_string(&path).expect("log"), "created\n");
        std::fs::write(&path, "a partial line").expect("log");
        store
            .append_log(&RunId::new("run"), "a[x=1]", "FAILED  a: why\n")
            .expect("log written");
        assert_eq!(
            std::fs::read_to_string(&path).expect("log"),
            "a partial line\nFAILED  a: why\n"
        );
    }
}
