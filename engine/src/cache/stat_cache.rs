//! The stat cache: what each hashed file looked like (size, mtime, ctime, inode) with its digest,
//! persisted between runs so that an unchanged file is not read again. Entries written within
//! the racy window (a write in the same clock tick could hide) are not persisted.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Entries modified this recently are not persisted: a write in the same clock tick could hide.
const RACY_WINDOW_NS: i128 = 2_000_000_000;

/// What identifies an unchanged file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatKey {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub inode: u64,
}

impl StatKey {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self {
                size: meta.len(),
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                inode: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            Self {
                size: meta.len(),
                mtime_ns: mtime,
                ctime_ns: 0,
                inode: 0,
            }
        }
    }
}

/// The persisted stat snapshot: path -> (stat, digest).
pub struct StatCache {
    file: Option<PathBuf>,
    entries: Mutex<HashMap<PathBuf, (StatKey, blake3::Hash)>>,
    dirty: AtomicBool,
    /// Files below these folders never change once written (the object store).
    immutable: Vec<PathBuf>,
}

impl StatCache {
    /// A cache that lives only in memory.
    pub fn in_memory() -> Self {
        Self {
            file: None,
            entries: Mutex::default(),
            dirty: AtomicBool::new(false),
            immutable: Vec::new(),
        }
    }

    /// Loads the snapshot at `file` (a missing or unreadable one is an empty cache).
    pub fn load(file: PathBuf, immutable: Vec<PathBuf>) -> Self {
        let entries = std::fs::read(&file)
            .map(|bytes| parse_entries(&bytes))
            .unwrap_or_default();
        Self {
            file: Some(file),
            entries: Mutex::new(entries),
            dirty: AtomicBool::new(false),
            immutable,
        }
    }

    pub fn lookup(&self, path: &Path, stat: &StatKey) -> Option<blake3::Hash> {
        let entries = self.entries.lock().expect("stat cache lock");
        entries
            .get(path)
            .filter(|(known, _)| known == stat)
            .map(|(_, digest)| *digest)
    }

    pub fn remember(&self, path: PathBuf, stat: StatKey, digest: blake3::Hash) {
        self.entries
            .lock()
            .expect("stat cache lock")
            .insert(path, (stat, digest));
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Files moved from below `from` to below `to` keep their digests (their stat is unchanged).
    pub fn moved(&self, from: &Path, to: &Path) {
        let mut entries = self.entries.lock().expect("stat cache lock");
        let moved: Vec<(PathBuf, (StatKey, blake3::Hash))> = entries
            .iter()
            .filter_map(|(path, entry)| Some((to.join(path.strip_prefix(from).ok()?), *entry)))
            .collect();
        entries.retain(|path, _| !path.starts_with(from));
        entries.extend(moved);
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Writes the snapshot (atomically) if anything was learned.
    pub fn save(&self) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty.load(Ordering::Relaxed) {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        let entries = self.entries.lock().expect("stat cache lock");
        let mut bytes = Vec::with_capacity(entries.len() * 120 + MAGIC.len());
        bytes.extend_from_slice(MAGIC);
        for (path, (stat, digest)) in entries.iter() {
            let racy = now - stat.mtime_ns.max(stat.ctime_ns) < RACY_WINDOW_NS;
            if racy && !self.immutable.iter().any(|dir| path.starts_with(dir)) {
                continue;
            }
            let Some(path) = path.to_str() else { continue };
            bytes.extend_from_slice(&(path.len() as u32).to_le_bytes());
            bytes.extend_from_slice(path.as_bytes());
            bytes.extend_from_slice(&stat.size.to_le_bytes());
            bytes.extend_from_slice(&stat.mtime_ns.to_le_bytes());
            bytes.extend_from_slice(&stat.ctime_ns.to_le_bytes());
            bytes.extend_from_slice(&stat.inode.to_le_bytes());
            bytes.extend_from_slice(digest.as_bytes());
        }
        crate::cache::store::write_atomic(file, &bytes)
    }
}

/// The snapshot file: this magic, then per entry a length-prefixed UTF-8 path, size, mtime and
/// ctime in nanoseconds, inode (all little-endian) and the 32-byte digest.
const MAGIC: &[u8] = b"pipeline-stat-v1\n";

fn parse_entries(bytes: &[u8]) -> HashMap<PathBuf, (StatKey, blake3::Hash)> {
    let mut entries = HashMap::new();
    let Some(mut rest) = bytes.strip_prefix(MAGIC) else {
        return entries;
    };
    while let Some((path, entry)) = parse_entry(&mut rest) {
        entries.insert(path, entry);
    }
    entries
}

fn parse_entry(rest: &mut &[u8]) -> Option<(PathBuf, (StatKey, blake3::Hash))> {
    fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
        let (head, tail) = rest.split_at_checked(N)?;
        *rest = tail;
        head.try_into().ok()
    }
    let length = u32::from_le_bytes(take::<4>(rest)?) as usize;
    let (path, tail) = rest.split_at_checked(length)?;
    *rest = tail;
    let path = PathBuf::from(std::str::from_utf8(path).ok()?);
    let stat = StatKey {
        size: u64::from_le_bytes(take(rest)?),
        mtime_ns: i128::from_le_bytes(take(rest)?),
        ctime_ns: i128::from_le_bytes(take(rest)?),
        inode: u64::from_le_bytes(take(rest)?),
    };
    Some((path, (stat, blake3::Hash::from_bytes(take(rest)?))))
}
