//! Input paths outside the project root. A pipeline reads what lies inside its root; a path that
//! leaves it (`..`, an absolute path, a symlink pointing out) is refused unless a folder holding
//! it is listed in `[pipeline] external`. The check follows symlinks as far as the path exists,
//! so `data -> /mnt/big` is outside even though `data/x` is written inside. Symlinks inside an
//! input folder are checked the same way (`data/sub/passwd -> /etc/passwd` is outside).

use std::path::{Path, PathBuf};

use crate::manifest::diagnostics::{Diagnostic, Diagnostics, SourceFile};
use crate::manifest::value::{SKind, SValue};

/// `[pipeline] external`: folders outside the root that inputs may read, resolved.
pub fn allowed_roots(
    source: &SourceFile,
    settings: Option<&SValue>,
    root: &Path,
    errors: &mut Diagnostics,
) -> Vec<PathBuf> {
    let Some(entry) = settings.and_then(|s| s.get("external")) else {
        return Vec::new();
    };
    let items = match &entry.value.kind {
        SKind::Array(items) if items.iter().all(|i| i.as_str().is_some()) => items,
        _ => {
            errors.push(
                Diagnostic::new(
                    source,
                    Some(entry.value.span.clone()),
                    format!(
                        "`external` must be an array of paths, not {}",
                        entry.value.type_name()
                    ),
                )
                .with_hint("external = [\"/data/visual7w\", \"../shared\"]"),
            );
            return Vec::new();
        }
    };
    items
        .iter()
        .filter_map(SValue::as_str)
        .map(|item| resolve(&super::normalize(&root.join(item))))
        .collect()
}

/// `Err((message, hint))` when `path` (the input `shown`, joined to the root) resolves outside
/// `root` and outside every `external` folder.
pub fn check_input(
    root: &Path,
    external: &[PathBuf],
    shown: &str,
    path: &Path,
) -> Result<(), (String, String)> {
    let resolved = resolve(path);
    if resolved.starts_with(resolve(root))
        || external.iter().any(|allowed| resolved.starts_with(allowed))
    {
        return Ok(());
    }
    let how = if path.starts_with(root) {
        format!(" through a symlink, to `{}`", resolved.display())
    } else {
        String::new()
    };
    let message = format!(
        "input `{shown}` is outside the project root `{}`{how}",
        root.display()
    );
    let hint = format!(
        "inputs are read from inside the root only; to read this one, list it (or a folder holding it) under [pipeline]: external = [\"{}\"]",
        resolved.display()
    );
    Err((message, hint))
}

/// `Err((message, hint))` when a symlink inside the input folder `path` (written `shown`) leads
/// outside `root` and every `external` folder. The walk reads each entry's type from its folder
/// listing (no stat per file: input folders can hold 10^5 files) and resolves symlinks only; a
/// symlink to a folder is walked too, each such target once, so links in a loop end.
pub fn check_folder(
    root: &Path,
    external: &[PathBuf],
    shown: &str,
    path: &Path,
) -> Result<(), (String, String)> {
    let real_root = resolve(root);
    let allowed = |real: &Path| {
        real.starts_with(&real_root) || external.iter().any(|folder| real.starts_with(folder))
    };
    let mut linked_folders = std::collections::HashSet::new();
    let mut pending = vec![(path.to_path_buf(), PathBuf::from(shown))];
    while let Some((folder, shown_folder)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let shown_entry = shown_folder.join(entry.file_name());
            if kind.is_dir() {
                pending.push((entry.path(), shown_entry));
            } else if kind.is_symlink() {
                let real = resolve(&entry.path());
                if !allowed(&real) {
                    return Err(link_outside(
                        root,
                        shown,
                        &shown_entry,
                        &entry.path(),
                        &real,
                    ));
                }
                if real.is_dir() && linked_folders.insert(real.clone()) {
                    pending.push((real, shown_entry));
                }
            }
        }
    }
    Ok(())
}

/// The message and hint for a symlink `shown_link` inside input folder `shown` that leads to
/// `real`, outside the root.
fn link_outside(
    root: &Path,
    shown: &str,
    shown_link: &Path,
    link: &Path,
    real: &Path,
) -> (String, String) {
    let target = std::fs::read_link(link).unwrap_or_else(|_| real.to_path_buf());
    let message = format!(
        "input folder `{shown}` holds `{}`, a symlink to `{}`, outside the project root `{}`",
        shown_link.display(),
        target.display(),
        root.display()
    );
    let folder = real.parent().unwrap_or(real);
    let hint = format!(
        "inputs are read from inside the root only: remove the link or copy what it points to into the project, or list its folder under [pipeline]: external = [\"{}\"]",
        folder.display()
    );
    (message, hint)
}

/// `path` with every symlink of its existing part resolved; the part that does not exist yet is
/// appended as written.
pub fn resolve(path: &Path) -> PathBuf {
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

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_an_input_folder_stay_inside_unless_external() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("project"), dir.path().join("outside"));
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("data/sub"), root.join("data/loop")).unwrap();
        std::os::unix::fs::symlink("../sub", root.join("data/sub/inside")).unwrap();
        assert!(check_folder(&root, &[], "data", &root.join("data")).is_ok());
        std::os::unix::fs::symlink(outside.join("secret"), root.join("data/sub/secret")).unwrap();
        let (message, hint) = check_folder(&root, &[], "data", &root.join("data")).unwrap_err();
        assert!(
            message.contains("/secret`, a symlink to")
                && message.contains("outside the project root"),
            "{message}"
        );
        assert!(hint.contains("external"), "{hint}");
        assert!(check_folder(&root, &[resolve(&outside)], "data", &root.join("data")).is_ok());
    }
}
