//! What a stage wrote, checked before it is cached: every declared output exists (`name/` as a
//! folder; a plain `name` may be either, as `publish` and `copy` declare what they copy; `exec`
//! holds its own `name` outputs to files), and no symbolic link leads out of the output.
//!
//! A link is kept only when it is relative and names a file inside the output: the cache stores
//! the folder as it is, so a link to anything else would be cached as a pointer to bytes the cache
//! does not hold (and that may change or vanish). Such links are refused, not copied: the stage
//! should write the file itself.

use std::path::Path;

use crate::run::job::JobError;

/// Fails with what is wrong with the output folder `out_dir` of a stage declaring `declared`.
pub fn check_outputs(declared: &[String], out_dir: &Path) -> Result<(), JobError> {
    let mut missing = Vec::new();
    for output in declared {
        let folder = output.ends_with('/');
        let path = out_dir.join(output.trim_end_matches('/'));
        match std::fs::symlink_metadata(&path) {
            Err(_) => missing.push(format!("`{output}`")),
            // Links, declared or not, are checked by the walk below.
            Ok(meta) if meta.is_symlink() => {}
            Ok(meta) if folder && !meta.is_dir() => {
                return Err(JobError::Invalid(format!(
                    "the stage wrote a file where its declared output `{output}` is a folder (declare it as `{}` \
                     if a file is what it makes); nothing was cached",
                    output.trim_end_matches('/')
                )));
            }
            Ok(_) => {}
        }
    }
    if !missing.is_empty() {
        return Err(JobError::Invalid(format!(
            "the stage finished without writing its declared output{} {}; nothing was cached",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )));
    }
    check_links_below(out_dir, out_dir)
}

/// Every symbolic link below `dir` must be one `check_link` keeps.
fn check_links_below(out_dir: &Path, dir: &Path) -> Result<(), JobError> {
    let entries = std::fs::read_dir(dir).map_err(JobError::io(format!(
        "reading the output folder {}",
        dir.display()
    )))?;
    for entry in entries {
        let entry = entry.map_err(JobError::io(format!(
            "reading the output folder {}",
            dir.display()
        )))?;
        let kind = entry
            .file_type()
            .map_err(JobError::io(format!("reading {}", entry.path().display())))?;
        if kind.is_symlink() {
            check_link(out_dir, &entry.path())?;
        } else if kind.is_dir() {
            check_links_below(out_dir, &entry.path())?;
        }
    }
    Ok(())
}

/// A link is kept only when relative and naming an existing file inside the output.
fn check_link(out_dir: &Path, link: &Path) -> Result<(), JobError> {
    let shown = link
        .strip_prefix(out_dir)
        .unwrap_or(link)
        .display()
        .to_string();
    let target = std::fs::read_link(link)
        .map_err(JobError::io(format!("reading the symbolic link `{shown}`")))?;
    let refuse = |why: &str| {
        Err(JobError::Invalid(format!(
            "the output `{shown}` is a symbolic link to {} {why}; nothing was cached. Write the file itself \
             (copy it) into the output folder",
            target.display()
        )))
    };
    let Ok(resolved) = link.canonicalize() else {
        return refuse("which does not exist");
    };
    let inside = out_dir
        .canonicalize()
        .is_ok_and(|root| resolved.starts_with(root));
    if target.is_absolute() || !inside {
        return refuse("outside the stage's output folder, which the cache would not hold");
    }
    if !resolved.is_file() {
        return refuse("which is not a file (only links to files inside the output are kept)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(declared: &[&str], build: impl FnOnce(&Path)) -> Result<(), String> {
        let dir = tempfile::tempdir().expect("temp dir");
        build(dir.path());
        let declared: Vec<String> = declared.iter().map(|s| s.to_string()).collect();
        check_outputs(&declared, dir.path()).map_err(|e| e.to_string())
    }

    #[test]
    fn kinds_and_links_are_checked() {
        let file = |name: &'static str| {
            move |dir: &Path| std::fs::write(dir.join(name), "x").expect("write")
        };
        assert_eq!(check(&["a.txt"], file("a.txt")), Ok(()));
        assert!(
            check(&["a/"], file("a"))
                .unwrap_err()
                .contains("wrote a file where its declared output `a/` is a folder")
        );
        let folder = |dir: &Path| std::fs::create_dir(dir.join("a")).expect("mkdir");
        assert_eq!(check(&["a", "a/"], folder), Ok(()));
        let inside = |dir: &Path| {
            std::fs::write(dir.join("real.txt"), "x").expect("write");
            std::os::unix::fs::symlink("real.txt", dir.join("a.txt")).expect("link");
        };
        assert_eq!(check(&["a.txt"], inside), Ok(()));
        let dangling =
            |dir: &Path| std::os::unix::fs::symlink("nowhere", dir.join("a.txt")).expect("link");
        assert!(
            check(&["a.txt"], dangling)
                .unwrap_err()
                .contains("symbolic link to nowhere which does not exist")
        );
        let outside = |dir: &Path| {
            std::fs::create_dir(dir.join("sub")).expect("mkdir");
            std::os::unix::fs::symlink("/etc/hostname", dir.join("sub/b")).expect("link");
        };
        assert!(
            check(&[], outside)
                .unwrap_err()
                .contains("`sub/b` is a symbolic link to /etc/hostname outside")
        );
    }
}
