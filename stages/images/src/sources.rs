//! Which images a run packs: every `.jpg`/`.jpeg`/`.png` below the images folder, in sorted order,
//! optionally narrowed to the `img_path`s that tables reference.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pipeline_api::StageError;

/// One image to pack: its key (path relative to the images folder, `/`-separated) and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub img_path: String,
    pub file: PathBuf,
}

/// Whether a file name has an image extension this stage reads (case-insensitive).
pub fn is_image_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jpg", ".jpeg", ".png"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Every image file below `root`, keyed by its relative posix path, sorted by that key.
pub fn list_images(root: &Path) -> Result<Vec<Source>, StageError> {
    let meta = std::fs::metadata(root).map_err(|e| {
        StageError::io(format!("reading the images folder `{}`", root.display()), e)
    })?;
    if !meta.is_dir() {
        return Err(StageError::failed(format!(
            "input `images` is `{}`, a file: bind it to the folder that holds the images",
            root.display()
        )));
    }
    let mut found = Vec::new();
    walk(root, "", &mut found)?;
    found.sort_by(|a: &Source, b| a.img_path.cmp(&b.img_path));
    Ok(found)
}

fn walk(dir: &Path, prefix: &str, found: &mut Vec<Source>) -> Result<(), StageError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StageError::io(format!("listing `{}`", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StageError::io(format!("listing `{}`", dir.display()), e))?;
        let name = entry.file_name().into_string().map_err(|name| {
            StageError::failed(format!(
                "`{}` has a name that is not UTF-8: rename it",
                dir.join(name).display()
            ))
        })?;
        let path = entry.path();
        let img_path = format!("{prefix}{name}");
        // `metadata` follows symbolic links, so a linked dataset folder is walked like a real one.
        let meta = std::fs::metadata(&path)
            .map_err(|e| StageError::io(format!("reading `{}`", path.display()), e))?;
        if meta.is_dir() {
            walk(&path, &format!("{img_path}/"), found)?;
        } else if is_image_name(&name) {
            found.push(Source {
                img_path,
                file: path,
            });
        }
    }
    Ok(())
}

/// The sources the tables reference, in sorted order. A referenced path absent from the folder is
/// kept (its file does not exist) so that decoding reports it as missing, with its path.
pub fn select(all: Vec<Source>, root: &Path, wanted: &BTreeSet<String>) -> Vec<Source> {
    let mut by_key: std::collections::BTreeMap<String, Source> = all
        .into_iter()
        .map(|source| (source.img_path.clone(), source))
        .collect();
    wanted
        .iter()
        .map(|key| {
            by_key.remove(key).unwrap_or_else(|| Source {
                img_path: key.clone(),
                file: root.join(key),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_images_recursively_sorted_with_posix_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        for name in ["b.JPG", "a.png", "sub/c.jpeg", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let keys: Vec<_> = list_images(dir.path())
            .unwrap()
            .into_iter()
            .map(|s| s.img_path)
            .collect();
        assert_eq!(keys, ["a.png", "b.JPG", "sub/c.jpeg"]);
    }

    #[test]
    fn selection_keeps_missing_paths_for_the_error() {
        let root = Path::new("/data/images");
        let all = vec![Source {
            img_path: "a.jpg".into(),
            file: root.join("a.jpg"),
        }];
        let wanted: BTreeSet<String> = ["a.jpg", "gone.jpg"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let picked = select(all, root, &wanted);
        assert_eq!(picked[1].img_path, "gone.jpg");
        assert_eq!(picked[1].file, root.join("gone.jpg"));
    }
}
