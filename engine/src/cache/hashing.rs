//! Content digests of files and folders (BLAKE3), computed in parallel and remembered across runs
//! by a stat snapshot: a file whose size, mtime, ctime and inode are unchanged is not read again.
//!
//! A file's digest is the BLAKE3 of its bytes (what `b3sum` prints). A folder's digest is the
//! BLAKE3 of its sorted listing: each file's relative path (length-prefixed) and digest. Empty
//! folders and where the folder lives do not count.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

/// Files at least this large are hashed with several threads over a memory map.
const MMAP_THRESHOLD: u64 = 16 << 20;
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

/// A digest and the stat of every file it covers, to notice later changes cheaply.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub digest: blake3::Hash,
    pub files: Vec<(PathBuf, StatKey)>,
    pub bytes: u64,
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

    fn lookup(&self, path: &Path, stat: &StatKey) -> Option<blake3::Hash> {
        let entries = self.entries.lock().expect("stat cache lock");
        entries
            .get(path)
            .filter(|(known, _)| known == stat)
            .map(|(_, digest)| *digest)
    }

    fn remember(&self, path: PathBuf, stat: StatKey, digest: blake3::Hash) {
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

/// Computes digests, consulting the stat cache.
pub struct ContentHasher<'a> {
    stat_cache: &'a StatCache,
}

impl<'a> ContentHasher<'a> {
    pub fn new(stat_cache: &'a StatCache) -> Self {
        Self { stat_cache }
    }

    /// Digest of a file or a folder.
    pub fn snapshot(&self, path: &Path) -> io::Result<Snapshot> {
        let meta = std::fs::metadata(path).map_err(|e| with_path(e, path))?;
        if !meta.is_dir() {
            let stat = StatKey::of(&meta);
            let digest = self.file_digest(path, &stat)?;
            return Ok(Snapshot {
                digest,
                files: vec![(path.to_path_buf(), stat)],
                bytes: stat.size,
            });
        }
        let mut files = Vec::new();
        list_files(path, &mut files)?;
        let hashed: Vec<(PathBuf, StatKey, blake3::Hash)> = files
            .into_par_iter()
            .map(|(file, stat)| {
                self.file_digest(&file, &stat)
                    .map(|digest| (file, stat, digest))
            })
            .collect::<io::Result<_>>()?;
        let mut tree = blake3::Hasher::new();
        tree.update(b"pipeline-tree-v1\0");
        let mut bytes = 0;
        for (file, stat, digest) in &hashed {
            let relative = file
                .strip_prefix(path)
                .unwrap_or(file)
                .to_string_lossy()
                .replace('\\', "/");
            tree.update(&(relative.len() as u64).to_le_bytes());
            tree.update(relative.as_bytes());
            tree.update(digest.as_bytes());
            bytes += stat.size;
        }
        let files = hashed
            .into_iter()
            .map(|(file, stat, _)| (file, stat))
            .collect();
        Ok(Snapshot {
            digest: tree.finalize(),
            files,
            bytes,
        })
    }

    pub fn stat_cache(&self) -> &StatCache {
        self.stat_cache
    }

    /// Whether `path` still holds what `before` describes (re-hashing only files whose stat changed).
    pub fn unchanged(&self, path: &Path, before: &Snapshot) -> io::Result<bool> {
        let now = match self.snapshot(path) {
            Ok(now) => now,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok(now.digest == before.digest)
    }

    fn file_digest(&self, path: &Path, stat: &StatKey) -> io::Result<blake3::Hash> {
        if let Some(digest) = self.stat_cache.lookup(path, stat) {
            return Ok(digest);
        }
        let digest = hash_file(path, stat.size).map_err(|e| with_path(e, path))?;
        self.stat_cache.remember(path.to_path_buf(), *stat, digest);
        Ok(digest)
    }
}

/// BLAKE3 of a file's bytes, multi-threaded over a memory map for big files.
pub fn hash_file(path: &Path, size: u64) -> io::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    if size >= MMAP_THRESHOLD {
        hasher.update_mmap_rayon(path)?;
        return Ok(hasher.finalize());
    }
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize())
}

/// Every file below `dir`, sorted by path, with its stat. Symlinks are followed.
fn list_files(dir: &Path, out: &mut Vec<(PathBuf, StatKey)>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| with_path(e, dir))?
        .collect::<io::Result<_>>()
        .map_err(|e| with_path(e, dir))?;
    entries.sort_by_cached_key(std::fs::DirEntry::file_name);
    // Stat in parallel; a directory entry's own metadata call avoids resolving the whole path.
    let stats: Vec<(PathBuf, std::fs::Metadata)> = entries
        .par_iter()
        .map(|entry| {
            let path = entry.path();
            let is_link = entry
                .file_type()
                .map_err(|e| with_path(e, &path))?
                .is_symlink();
            let meta = if is_link {
                std::fs::metadata(&path)
            } else {
                entry.metadata()
            };
            meta.map(|meta| (path.clone(), meta))
                .map_err(|e| with_path(e, &path))
        })
        .collect::<io::Result<_>>()?;
    for (path, meta) in stats {
        if meta.is_dir() {
            list_files(&path, out)?;
        } else {
            out.push((path, StatKey::of(&meta)));
        }
    }
    Ok(())
}

fn with_path(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Writes `digest  path` lines like `b3sum` (for `pipeline hash`).
pub fn print_digest(out: &mut impl Write, snapshot: &Snapshot, shown: &str) -> io::Result<()> {
    writeln!(out, "{}  {shown}", snapshot.digest.to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_digest_is_b3sum_and_tree_ignores_location() {
        let dir = tempfile::tempdir().unwrap();
        for root in ["a", "b"] {
            std::fs::create_dir_all(dir.path().join(root).join("sub")).unwrap();
            std::fs::write(dir.path().join(root).join("sub/x.txt"), b"hello").unwrap();
            std::fs::write(dir.path().join(root).join("y.txt"), b"world").unwrap();
        }
        let cache = StatCache::in_memory();
        let hasher = ContentHasher::new(&cache);
        let file = hasher.snapshot(&dir.path().join("a/y.txt")).unwrap();
        assert_eq!(file.digest, blake3::hash(b"world"));
        let a = hasher.snapshot(&dir.path().join("a")).unwrap();
        let b = hasher.snapshot(&dir.path().join("b")).unwrap();
        assert_eq!(a.digest, b.digest);
        std::fs::write(dir.path().join("b/sub/x.txt"), b"hellO").unwrap();
        assert!(!hasher.unchanged(&dir.path().join("b"), &b).unwrap());
        assert!(hasher.unchanged(&dir.path().join("a"), &a).unwrap());
    }
}
