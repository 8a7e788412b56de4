//! Publishing: a stage's results placed at user-visible paths of the project, each replaced
//! atomically, and whether they are still in place (for `status`).
//!
//! A destination stays inside the project: every existing folder on its path is resolved (symlinks
//! followed) and one that leads out of the root, or into the cache or `.git`, is refused. The
//! placement itself (in `place`) re-checks the folder right before the rename, under a lock on the
//! destination so that concurrent runs take turns.

mod place;

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::job::{Engine, JobError};
use crate::lock;
use crate::store::{RunRecord, Store};

impl Engine<'_> {
    /// Places the stage's published files at their user-visible paths, if they differ.
    /// Returns the paths that were (re)written.
    pub fn publish(&self, index: usize, record: &RunRecord) -> Result<Vec<String>, JobError> {
        let stage = &self.plan.stages[index];
        let bounds = Bounds::new(&self.plan.root, self.store.base()).map_err(JobError::io("resolving the project root"))?;
        let mut written = Vec::new();
        for (inside, destination) in stage.stage.publishes() {
            let source = self.store.output_path(&record.output).join(&inside);
            let target = bounds.resolve(&destination)?;
            let lock_name = format!("publish-{}", &blake3::hash(target.path().as_os_str().as_encoded_bytes()).to_hex()[..32]);
            let _lock = lock::acquire(&self.store.lock_path(&lock_name), |_| {})
                .map_err(JobError::io(format!("taking the lock on `{destination}`")))?;
            place::remove_leftovers(&target.parent, &target.name);
            if self.same_content(&source, &target.path()) {
                continue;
            }
            place::replace(&source, &target.parent, &target.name, |real| bounds.check(real))
                .map_err(JobError::io(format!("publishing `{destination}`")))?;
            written.push(destination);
        }
        Ok(written)
    }

    /// Whether published paths are in place (for `status`).
    pub fn published_paths_current(&self, index: usize, record: &RunRecord) -> Vec<String> {
        let stage = &self.plan.stages[index];
        stage.stage.publishes().into_iter()
            .filter(|(inside, destination)| {
                !self.same_content(&self.store.output_path(&record.output).join(inside), &self.plan.root.join(destination))
            })
            .map(|(_, destination)| destination)
            .collect()
    }

    fn same_content(&self, a: &Path, b: &Path) -> bool {
        match (self.hasher.snapshot(a), self.hasher.snapshot(b)) {
            (Ok(x), Ok(y)) => x.digest == y.digest,
            _ => false,
        }
    }
}

/// A destination with its folders resolved: `parent` is a real path inside the root.
struct Target {
    parent: PathBuf,
    name: OsString,
}

impl Target {
    fn path(&self) -> PathBuf {
        self.parent.join(&self.name)
    }
}

/// Where publishing may write: below the project root (its real path), outside the cache and `.git`.
struct Bounds {
    root: PathBuf,
    forbidden: Vec<PathBuf>,
}

impl Bounds {
    fn new(root: &Path, cache_base: &Path) -> io::Result<Bounds> {
        let root = std::fs::canonicalize(root)?;
        let cache = cache_base.parent().unwrap_or(cache_base);
        let forbidden = [cache.to_path_buf(), root.join(".git")]
            .iter()
            .map(|path| std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
            .collect();
        Ok(Bounds { root, forbidden })
    }

    /// Why publishing may not write at the real path `real`, if it may not.
    fn check(&self, real: &Path) -> Result<(), String> {
        if !real.starts_with(&self.root) || real == self.root {
            return Err(format!("outside the project {}", self.root.display()));
        }
        match self.forbidden.iter().find(|area| real.starts_with(area)) {
            Some(area) => Err(format!("inside {}, which publishing may not touch", area.display())),
            None => Ok(()),
        }
    }

    /// Resolves `destination` (relative to the root), creating its missing folders one at a time
    /// and following each symlink on the way, which must stay within bounds.
    fn resolve(&self, destination: &str) -> Result<Target, JobError> {
        let refuse = |why: String| JobError::Invalid(format!("cannot publish `{destination}`: {why}"));
        let parts: Vec<&std::ffi::OsStr> = Path::new(destination).components()
            .map(|part| match part {
                Component::Normal(name) => Ok(name),
                _ => Err(refuse("the path must be relative and may not climb out with `..`".to_string())),
            })
            .collect::<Result<_, _>>()?;
        let Some((last, folders)) = parts.split_last() else {
            return Err(refuse("the path is empty".to_string()));
        };
        let mut current = self.root.clone();
        let mut shown = PathBuf::new();
        for part in folders {
            shown.push(part);
            let next = current.join(part);
            match std::fs::create_dir(&next) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(JobError::io(format!("creating `{}`", shown.display()))(error)),
            }
            current = self.follow(next, &shown, &refuse)?;
            if !current.is_dir() {
                return Err(refuse(format!("`{}` is not a folder", shown.display())));
            }
        }
        shown.push(last);
        let real = self.follow(current.join(last), &shown, &refuse)?;
        let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
            return Err(refuse(format!("`{}` leads to {}", shown.display(), real.display())));
        };
        Ok(Target { parent: parent.to_path_buf(), name: name.to_os_string() })
    }

    /// `path` itself when it is no symlink (its parent is already real), else where it leads,
    /// refused when that is out of bounds or missing.
    fn follow(&self, path: PathBuf, shown: &Path, refuse: &impl Fn(String) -> JobError) -> Result<PathBuf, JobError> {
        let Ok(link) = std::fs::read_link(&path) else { return Ok(path) };
        let described = format!("`{}` is a symlink to {}", shown.display(), link.display());
        let real = std::fs::canonicalize(&path).map_err(|error| refuse(format!("{described}, which cannot be followed ({error})")))?;
        self.check(&real).map_err(|why| {
            refuse(format!("{described}, {why}; publish to a real folder of the project, or point the link inside it"))
        })?;
        Ok(real)
    }
}
