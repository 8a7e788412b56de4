//! Per-key locks: one process at a time runs a given stage key. The kernel drops a lock when its
//! holder dies, so a killed run never leaves a lock behind; the holder's pid is written for the
//! "waiting for" message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// A held lock, released on drop.
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

/// The lock file at `path` (and its folder), created if missing, never truncated: it holds the
/// pid of the last holder.
fn open(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Takes the lock at `path`, calling `on_wait(holder_pid)` once if another process holds it.
pub fn acquire(path: &Path, on_wait: impl FnOnce(Option<u32>)) -> io::Result<KeyLock> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            on_wait(text.trim().parse().ok());
            file.lock()?;
        }
        Err(TryLockError::Error(error)) => return Err(error),
    }
    hold(file)
}

/// Takes the lock at `path` if no one holds it; `None` when someone does.
pub fn try_acquire(path: &Path) -> io::Result<Option<KeyLock>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => hold(file).map(Some),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => Err(error),
    }
}

/// Writes our pid into a lock file we now hold.
fn hold(mut file: File) -> io::Result<KeyLock> {
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(KeyLock { _file: file })
}
