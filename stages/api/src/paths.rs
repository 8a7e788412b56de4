//! Relative paths that cannot escape the directory they are joined to.

use std::path::{Component, Path};

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    #[error("path is empty")]
    Empty,
    #[error("`{0}` is absolute: give a path relative to the directory it lives in")]
    Absolute(String),
    #[error("`{0}` climbs out with `..`: paths must stay inside their directory")]
    ParentDir(String),
}

/// Accepts `a/b.txt`, `dir/`, `./x`; refuses empty, absolute and `..` paths.
pub fn check_relative(path: &str) -> Result<(), RelPathError> {
    if path.trim().is_empty() {
        return Err(RelPathError::Empty);
    }
    for component in Path::new(path).components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(RelPathError::ParentDir(path.to_string())),
            Component::RootDir | Component::Prefix(_) => {
                return Err(RelPathError::Absolute(path.to_string()));
            }
        }
    }
    Ok(())
}

/// Copies a file, or a folder with everything below it, to `to` (which must not exist yet).
/// Copied files are left writable even when the source is read-only.
pub fn copy_path(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(from)?;
    if meta.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_path(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to)?;
        make_owner_writable(to)
    }
}

#[cfg(unix)]
fn make_owner_writable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode | 0o200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        assert!(check_relative("a/b.txt").is_ok());
        assert!(check_relative("dir/").is_ok());
        assert_eq!(check_relative(""), Err(RelPathError::Empty));
        assert!(matches!(
            check_relative("/etc/passwd"),
            Err(RelPathError::Absolute(_))
        ));
        assert!(matches!(
            check_relative("a/../../x"),
            Err(RelPathError::ParentDir(_))
        ));
    }
}

#[cfg(not(unix))]
fn make_owner_writable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}
