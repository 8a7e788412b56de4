//! Putting a copy of a file or folder at a path in one atomic step. The copy is made in a hidden
//! sibling (`.name.tmp-*`), then swapped into place: on Linux with `renameat2(RENAME_EXCHANGE)`
//! through a handle on the parent folder (readers see the old or the new version, never none, and
//! a symlink swapped in on the path meanwhile is not followed); elsewhere by two renames. The
//! caller holds the destination's lock. Every temporary sibling is removed, on success and on
//! error; `remove_leftovers` removes those a killed run left (named after its dead process).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::cache::store;

/// Replaces `parent/name` by a copy of `source`. `check` is asked, right before the copy, whether
/// the real path of the opened `parent` folder may be written (it may have been swapped meanwhile).
pub fn replace(
    source: &Path,
    parent: &Path,
    name: &OsStr,
    check: impl Fn(&Path) -> Result<(), String>,
) -> io::Result<()> {
    let folder = Folder::open(parent)?;
    let real = folder.real_path()?;
    check(&real).map_err(|why| {
        io::Error::other(format!(
            "the folder {} changed meanwhile: {} is {why}",
            parent.display(),
            real.display()
        ))
    })?;
    let temp = Temp {
        path: store::temp_sibling(&folder.join(name)),
    };
    pipeline_api::copy_path(source, &temp.path)?;
    swap_into_place(&folder, temp.name(), name)
}

/// A temporary sibling, removed when dropped: a partial copy, or the old version swapped out.
struct Temp {
    path: PathBuf,
}

impl Temp {
    fn name(&self) -> &OsStr {
        self.path
            .file_name()
            .expect("temporary siblings have a name")
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Err(error) = remove_any(&self.path) {
            tracing::warn!(
                "could not remove the temporary {}: {error}",
                self.path.display()
            );
        }
    }
}

/// Removes the `.name.tmp-<pid>-<n>` siblings that killed runs left (their process is gone).
pub fn remove_leftovers(parent: &Path, name: &OsStr) {
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let pid = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('-').next()?.parse::<u32>().ok());
        if pid.is_some_and(|pid| !is_alive(pid)) {
            let _ = remove_any(&entry.path());
        }
    }
}

#[cfg(unix)]
fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn is_alive(pid: u32) -> bool {
    pid == std::process::id()
}

/// A file, a symlink or a whole folder; nothing to do when it is not there.
fn remove_any(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => store::remove_tree(path),
        Ok(_) => std::fs::remove_file(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// An open folder. On Linux its `path` goes through `/proc/self/fd`, so it names the very folder
/// that was opened and checked, whatever happens to the path that led there.
struct Folder {
    file: File,
    path: PathBuf,
}

impl Folder {
    fn open(path: &Path) -> io::Result<Folder> {
        let file = File::open(path)?;
        if !file.metadata()?.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a folder",
                path.display()
            )));
        }
        let path = by_handle(&file).unwrap_or_else(|| path.to_path_buf());
        Ok(Folder { file, path })
    }

    fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// Where the opened folder really is now.
    fn real_path(&self) -> io::Result<PathBuf> {
        std::fs::canonicalize(&self.path)
    }
}

#[cfg(target_os = "linux")]
fn by_handle(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    std::fs::read_link(&path).is_ok().then_some(path)
}

#[cfg(not(target_os = "linux"))]
fn by_handle(_file: &File) -> Option<PathBuf> {
    None
}

/// Puts `temp` at `name` in `folder`; after this, `temp` holds the old version (or nothing).
#[cfg(target_os = "linux")]
fn swap_into_place(folder: &Folder, temp: &OsStr, name: &OsStr) -> io::Result<()> {
    const TRIES: usize = 100;
    for _ in 0..TRIES {
        match rename_at(folder, temp, name, libc::RENAME_EXCHANGE) {
            Ok(()) => return Ok(()),
            // Nothing there to exchange with: move in, unless someone just did.
            Err(error) if error.raw_os_error() == Some(libc::ENOENT) => {
                match rename_at(folder, temp, name, libc::RENAME_NOREPLACE) {
                    Ok(()) => return Ok(()),
                    Err(error) if error.raw_os_error() == Some(libc::EEXIST) => continue,
                    Err(error) if unsupported(&error) => {
                        return swap_by_renames(folder, temp, name);
                    }
                    Err(error) => return Err(error),
                }
            }
            Err(error) if unsupported(&error) => return swap_by_renames(folder, temp, name),
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::other(format!(
        "{} kept appearing and disappearing",
        folder.join(name).display()
    )))
}

#[cfg(target_os = "linux")]
fn unsupported(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    )
}

/// `renameat2` within the opened folder: no path outside it is resolved.
#[cfg(target_os = "linux")]
fn rename_at(folder: &Folder, from: &OsStr, to: &OsStr, flags: libc::c_uint) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_bytes()).map_err(io::Error::other)?;
    let to = std::ffi::CString::new(to.as_bytes()).map_err(io::Error::other)?;
    let fd = folder.file.as_raw_fd();
    // SAFETY: both names are NUL-terminated strings that outlive the call; `fd` is an open folder.
    let result = unsafe { libc::renameat2(fd, from.as_ptr(), fd, to.as_ptr(), flags) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn swap_into_place(folder: &Folder, temp: &OsStr, name: &OsStr) -> io::Result<()> {
    swap_by_renames(folder, temp, name)
}

/// Without an atomic exchange: a file replaces a file by one rename; otherwise the old version is
/// renamed aside first (the destination's lock keeps other runs of the engine out meanwhile).
fn swap_by_renames(folder: &Folder, temp: &OsStr, name: &OsStr) -> io::Result<()> {
    let (temp, target) = (folder.join(temp), folder.join(name));
    let old = match std::fs::symlink_metadata(&target) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Ok(meta) if !meta.is_dir() && !temp.is_dir() => None,
        Ok(_) => Some(Temp {
            path: store::temp_sibling(&target),
        }),
        Err(error) => return Err(error),
    };
    if let Some(old) = &old {
        std::fs::rename(&target, &old.path)?;
    }
    std::fs::rename(&temp, &target).inspect_err(|_| {
        if let Some(old) = &old {
            let _ = std::fs::rename(&old.path, &target);
        }
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn replace_in(target: &Path, source: &Path) -> io::Result<()> {
        let parent = target.parent().expect("a parent");
        std::fs::create_dir_all(parent)?;
        replace(source, parent, target.file_name().expect("a name"), |_| {
            Ok(())
        })
    }

    /// Without the destination's lock (threads of one process): the exchange alone keeps every
    /// replacement whole.
    #[test]
    fn threads_replacing_one_folder_never_fail_nor_leave_temporaries() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("source");
        std::fs::create_dir_all(source.join("sub")).expect("source");
        for i in 0..20 {
            std::fs::write(source.join(format!("f{i}.txt")), format!("{i}")).expect("source file");
        }
        let target = dir.path().join("results/files");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (source, target) = (source.clone(), target.clone());
                std::thread::spawn(move || {
                    (0..100)
                        .map(|_| replace_in(&target, &source))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .expect("thread")
                .expect("every replacement succeeds");
        }
        let names: Vec<OsString> = std::fs::read_dir(dir.path().join("results"))
            .expect("results")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("files")]);
        assert_eq!(std::fs::read_dir(&target).expect("target").count(), 21);
    }

    #[test]
    fn a_file_replaces_a_folder_and_leftovers_of_killed_runs_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("source.txt");
        std::fs::write(&source, "new").expect("source");
        let target = dir.path().join("results/x");
        std::fs::create_dir_all(target.join("old")).expect("old folder");
        std::fs::create_dir_all(dir.path().join("results/.x.tmp-999999999-1/partial"))
            .expect("a leftover");
        remove_leftovers(&dir.path().join("results"), OsStr::new("x"));
        replace_in(&target, &source).expect("replaced");
        assert_eq!(std::fs::read_to_string(&target).expect("target"), "new");
        let names: Vec<OsString> = std::fs::read_dir(dir.path().join("results"))
            .expect("results")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("x")]);
    }

    #[test]
    fn a_folder_that_fails_the_check_is_not_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("source.txt");
        std::fs::write(&source, "new").expect("source");
        let error = replace(&source, dir.path(), OsStr::new("x"), |_| {
            Err("outside".into())
        })
        .expect_err("refused");
        assert!(error.to_string().contains("changed meanwhile"), "{error}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }
}
