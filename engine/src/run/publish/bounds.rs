//! Where publishing may write: below the project root (its real path), outside the cache and
//! `.git`. A destination is walked one folder at a time, following each symlink on the way, which
//! must stay within bounds. Validation walks it without creating anything (a missing folder will
//! be created as a real one); publishing walks it again, creating the missing folders, because the
//! project may have changed in between.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};

/// A destination with its folders resolved: `parent` is a real path inside the root.
pub(crate) struct Target {
    pub parent: PathBuf,
    pub name: OsString,
}

impl Target {
    pub fn path(&self) -> PathBuf {
        self.parent.join(&self.name)
    }
}

/// Why a destination may not be written: refused (the reason), or a folder on its path could not
/// be created (which folder, and the error).
pub(crate) enum Refusal {
    Refused(String),
    Io(String, io::Error),
}

/// The real project root and the areas publishing may not touch.
pub(crate) struct Bounds {
    root: PathBuf,
    forbidden: Vec<PathBuf>,
}

impl Bounds {
    /// `cache` is the cache folder (`cache/`, holding `v1/`).
    pub fn new(root: &Path, cache: &Path) -> io::Result<Bounds> {
        let root = std::fs::canonicalize(root)?;
        let forbidden = [cache.to_path_buf(), root.join(".git")]
            .iter()
            .map(|path| std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
            .collect();
        Ok(Bounds { root, forbidden })
    }

    /// Why publishing may not write at the real path `real`, if it may not.
    pub fn check(&self, real: &Path) -> Result<(), String> {
        if !real.starts_with(&self.root) || real == self.root {
            return Err(format!("outside the project {}", self.root.display()));
        }
        match self.forbidden.iter().find(|area| real.starts_with(area)) {
            Some(area) => Err(format!(
                "inside {}, which publishing may not touch",
                area.display()
            )),
            None => Ok(()),
        }
    }

    /// Resolves `destination` (relative to the root), creating its missing folders.
    pub fn resolve(&self, destination: &str) -> Result<Target, Refusal> {
        let real = self.walk(destination, true)?;
        let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
            return Err(Refusal::Refused(format!(
                "`{destination}` leads to {}",
                real.display()
            )));
        };
        Ok(Target {
            parent: parent.to_path_buf(),
            name: name.to_os_string(),
        })
    }

    /// Where `destination` would be written (its real path), or why it may not be; creates nothing.
    pub fn check_destination(&self, destination: &str) -> Result<PathBuf, String> {
        let real = self
            .walk(destination, false)
            .map_err(|refusal| match refusal {
                Refusal::Refused(why) => why,
                Refusal::Io(what, error) => format!("{what}: {error}"),
            })?;
        self.check(&real)
            .map_err(|why| format!("`{destination}` leads to {}, {why}", real.display()))?;
        Ok(real)
    }

    /// Follows `destination` folder by folder. Without `create`, a missing folder ends the walk:
    /// what is below it will be created as real folders inside it.
    fn walk(&self, destination: &str, create: bool) -> Result<PathBuf, Refusal> {
        let parts = parts(destination)?;
        let Some((last, folders)) = parts.split_last() else {
            return Err(Refusal::Refused("the path is empty".to_string()));
        };
        let mut current = self.root.clone();
        let mut shown = PathBuf::new();
        for (at, part) in folders.iter().enumerate() {
            shown.push(part);
            let next = current.join(part);
            if create {
                if let Err(error) = std::fs::create_dir(&next)
                    && error.kind() != io::ErrorKind::AlreadyExists
                {
                    return Err(Refusal::Io(
                        format!("creating `{}`", shown.display()),
                        error,
                    ));
                }
            } else if std::fs::symlink_metadata(&next)
                .is_err_and(|error| error.kind() == io::ErrorKind::NotFound)
            {
                return Ok(parts[at..]
                    .iter()
                    .fold(current, |path, part| path.join(part)));
            }
            current = self.follow(next, &shown)?;
            if !current.is_dir() {
                return Err(Refusal::Refused(format!(
                    "`{}` is not a folder",
                    shown.display()
                )));
            }
        }
        shown.push(last);
        self.follow(current.join(last), &shown)
    }

    /// `path` itself when it is no symlink (its parent is already real), else where it leads,
    /// refused when that is out of bounds or missing.
    fn follow(&self, path: PathBuf, shown: &Path) -> Result<PathBuf, Refusal> {
        let Ok(link) = std::fs::read_link(&path) else {
            return Ok(path);
        };
        let described = format!("`{}` is a symlink to {}", shown.display(), link.display());
        let real = std::fs::canonicalize(&path).map_err(|error| {
            Refusal::Refused(format!("{described}, which cannot be followed ({error})"))
        })?;
        self.check(&real).map_err(|why| {
            Refusal::Refused(format!("{described}, {why}; publish to a real folder of the project, or point the link inside it"))
        })?;
        Ok(real)
    }
}

/// The names of a relative destination; `..`, `.` and absolute paths are refused.
fn parts(destination: &str) -> Result<Vec<&OsStr>, Refusal> {
    Path::new(destination)
        .components()
        .map(|part| match part {
            Component::Normal(name) => Ok(name),
            _ => Err(Refusal::Refused(
                "the path must be relative and may not climb out with `..`".to_string(),
            )),
        })
        .collect()
}
