//! The file a download grows in, kept between attempts and, because the stage is resumable,
//! between runs; with the server's validator (a strong ETag or Last-Modified) that lets a later
//! Range request ask for "the rest of *this* version of the file".
//!
//! Both live in a hidden folder of the output directory that the stage removes before it finishes,
//! so the published output never holds them. The bytes are hashed as they are appended (what an
//! earlier run left is hashed once when reopened), so the checksum costs no second read.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::checksum::{Algorithm, Checksum, Hasher};

/// The hidden folder inside the output directory that holds unfinished downloads.
pub const PARTIAL_DIR: &str = ".download-partial";

pub struct Partial {
    dir: PathBuf,
    path: PathBuf,
    validator_path: PathBuf,
    file: File,
    len: u64,
    hasher: Hasher,
}

impl Partial {
    /// Opens (or creates) the unfinished download `name` under `out_dir`, keeping what an
    /// earlier attempt or run left in it, hashed with `algorithm`.
    pub fn open(out_dir: &Path, name: &str, algorithm: Algorithm) -> io::Result<Partial> {
        let dir = out_dir.join(PARTIAL_DIR);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(name);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let validator_path = dir.join(format!("{name}.validator"));
        let mut hasher = Hasher::new(algorithm);
        let len = hash_prefix(&path, &mut hasher)?;
        Ok(Partial {
            dir,
            path,
            validator_path,
            file,
            len,
            hasher,
        })
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// The digest of the bytes received so far.
    pub fn checksum(&self) -> Checksum {
        self.hasher.checksum()
    }

    /// Drops what was received: the next attempt starts from the first byte.
    pub fn restart(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.len = 0;
        self.hasher.reset();
        self.set_validator(None)
    }

    /// The validator of the version being received, if the server gave one.
    pub fn validator(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.validator_path).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }

    pub fn set_validator(&self, validator: Option<&str>) -> io::Result<()> {
        match validator {
            Some(value) => std::fs::write(&self.validator_path, value),
            None => match std::fs::remove_file(&self.validator_path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    /// Flushes the file to disk and returns its path; the caller then moves or reads it and
    /// calls [`Partial::remove_dir`].
    pub fn complete(self) -> io::Result<(PathBuf, PathBuf)> {
        self.file.sync_all()?;
        Ok((self.path, self.dir))
    }

    /// Removes the unfinished download and its validator (after a bad checksum or archive, so
    /// that the next run fetches afresh instead of resuming wrong bytes).
    pub fn discard(self) -> io::Result<()> {
        drop(self.file);
        remove_dir(&self.dir)
    }
}

/// Feeds the bytes already in the file at `path` to `hasher`; returns how many there were.
fn hash_prefix(path: &Path, hasher: &mut Hasher) -> io::Result<u64> {
    let mut file = File::open(path)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut len = 0;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(len);
        }
        hasher.update(&buffer[..read]);
        len += read as u64;
    }
}

/// Removes the hidden folder, whatever it still holds.
pub fn remove_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_bytes_and_validator_across_opens() {
        let out = tempfile::tempdir().unwrap();
        let mut partial = Partial::open(out.path(), "a.bin", Algorithm::Blake3).unwrap();
        partial.append(b"hello ").unwrap();
        partial.set_validator(Some("\"v1\"")).unwrap();
        drop(partial);
        let mut partial = Partial::open(out.path(), "a.bin", Algorithm::Blake3).unwrap();
        assert_eq!(partial.len(), 6);
        assert_eq!(partial.validator().as_deref(), Some("\"v1\""));
        partial.append(b"world").unwrap();
        assert_eq!(std::fs::read(partial.path()).unwrap(), b"hello world");
        assert_eq!(
            partial.checksum().hex,
            blake3::hash(b"hello world").to_hex().to_string(),
            "the reopened prefix is hashed too"
        );
        partial.restart().unwrap();
        assert_eq!(partial.validator(), None);
        partial.append(b"x").unwrap();
        assert_eq!(
            partial.checksum().hex,
            blake3::hash(b"x").to_hex().to_string()
        );
        let (path, dir) = partial.complete().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        remove_dir(&dir).unwrap();
        assert!(!out.path().join(PARTIAL_DIR).exists());
    }
}
