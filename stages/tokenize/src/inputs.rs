//! Finding a split's table among the paths bound to the `tables` input: folders holding
//! `<split>.parquet`, or Parquet files named `<split>.parquet`.

use std::path::{Path, PathBuf};

/// The `<split>.parquet` among `paths` (files, or folders searched one level deep).
pub fn split_table(paths: &[PathBuf], split: &str) -> Result<PathBuf, String> {
    let name = format!("{split}.parquet");
    let mut found: Vec<PathBuf> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let candidate = path.join(&name);
            if candidate.is_file() {
                found.push(candidate);
            }
        } else if path.file_name().is_some_and(|n| n == name.as_str()) {
            found.push(path.clone());
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "no `{name}` in the `tables` input ({}); bind it to the folder holding the split tables \
             or list the split's table, or remove `{split}` from `splits`",
            describe(paths)
        )),
        _ => Err(format!(
            "`{name}` is found more than once in the `tables` input: {found:?}"
        )),
    }
}

fn describe(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths
        .iter()
        .map(|p| format!("`{}`{}", p.display(), listing(p)))
        .collect();
    shown.join(", ")
}

/// ` holding a, b` for a folder.
fn listing(path: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(path) else {
        return String::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    format!(
        " holding {}",
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        }
    )
}
