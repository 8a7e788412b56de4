//! Content digests of files and folders (BLAKE3), computed in parallel and remembered across runs
//! by a stat snapshot: a file whose size, mtime, ctime and inode are unchanged is not read again.
//!
//! A file's digest is the BLAKE3 of its bytes (what `b3sum` prints). A folder's digest is the
//! BLAKE3 of its sorted listing: each file's relative path (length-prefixed) and digest. Empty
//! folders and where the folder lives do not count.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cache::stat_cache::{StatCache, StatKey};

/// Files at least this large are hashed with several threads over a memory map.
const MMAP_THRESHOLD: u64 = 16 << 20;
/// A digest and the stat of every file it covers, to notice later changes cheaply.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub digest: blake3::Hash,
    pub files: Vec<(PathBuf, StatKey)>,
    pub bytes: u64,
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
