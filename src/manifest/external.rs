//! Input paths outside the project root. A pipeline reads what lies inside its root; a path that
//! leaves it (`..`, an absolute path, a symlink pointing out) is refused unless a folder holding
//! it is listed in `[pipeline] external`. The check follows symlinks as far as the path exists,
//! so `data -> /mnt/big` is outside even though `data/x` is written inside.

use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, Diagnostics, SourceFile};
use crate::value::{SKind, SValue};

/// `[pipeline] external`: folders outside the root that inputs may read, resolved.
pub fn allowed_roots(source: &SourceFile, settings: Option<&SValue>, root: &Path, errors: &mut Diagnostics) -> Vec<PathBuf> {
    let Some(entry) = settings.and_then(|s| s.get("external")) else { return Vec::new() };
    let items = match &entry.value.kind {
        SKind::Array(items) if items.iter().all(|i| i.as_str().is_some()) => items,
        _ => {
            errors.push(Diagnostic::new(source, Some(entry.value.span.clone()), format!("`external` must be an array of paths, not {}", entry.value.type_name()))
                .with_hint("external = [\"/data/visual7w\", \"../shared\"]"));
            return Vec::new();
        }
    };
    items.iter().filter_map(SValue::as_str).map(|item| resolve(&super::normalize(&root.join(item)))).collect()
}

/// `Err((message, hint))` when `path` (the input `shown`, joined to the root) resolves outside
/// `root` and outside every `external` folder.
pub fn check_input(root: &Path, external: &[PathBuf], shown: &str, path: &Path) -> Result<(), (String, String)> {
    let resolved = resolve(path);
    if resolved.starts_with(resolve(root)) || external.iter().any(|allowed| resolved.starts_with(allowed)) {
        return Ok(());
    }
    let how = if path.starts_with(root) { format!(" through a symlink, to `{}`", resolved.display()) } else { String::new() };
    let message = format!("input `{shown}` is outside the project root `{}`{how}", root.display());
    let hint = format!(
        "inputs are read from inside the root only; to read this one, list it (or a folder holding it) under [pipeline]: external = [\"{}\"]",
        resolved.display()
    );
    Err((message, hint))
}

/// `path` with every symlink of its existing part resolved; the part that does not exist yet is
/// appended as written.
fn resolve(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(real) = existing.canonicalize() {
            return missing.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_and_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        assert!(check_input(&root, &[], "x/y", &root.join("x/y")).is_ok());
        assert!(check_input(&root, &[], "../data", &data).is_err());
        assert!(check_input(&root, &[resolve(&data)], "../data/z", &data.join("z")).is_ok());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&data, root.join("link")).unwrap();
            let (message, _) = check_input(&root, &[], "link/z", &root.join("link/z")).unwrap_err();
            assert!(message.contains("through a symlink"), "{message}");
        }
    }
}
