//! Finding a split's table among the paths bound to the `tables` input: folders holding
//! `<split>.parquet`, or Parquet files named `<split>.parquet`.

use std::collections::BTreeMap;
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

/// Every `<split>.parquet` among `paths` (files, or folders searched one level deep), by split
/// name. A split found twice, or no table at all, is an error that says what the input holds.
pub fn all_tables(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, String> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        let candidates = if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| format!("cannot list the `tables` input `{}`: {e}", path.display()))?;
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.is_file())
                .collect()
        } else {
            vec![path.clone()]
        };
        for file in candidates {
            let Some(split) = split_name(&file) else {
                continue;
            };
            if let Some(first) = found.insert(split.clone(), file.clone()) {
                return Err(format!(
                    "split `{split}` is found twice in the `tables` input: `{}` and `{}`; bind one \
                     of them, or list the splits to tokenize in `splits`",
                    first.display(),
                    file.display()
                ));
            }
        }
    }
    if found.is_empty() {
        return Err(format!(
            "no `<split>.parquet` table in the `tables` input ({}); bind it to the folder holding \
             the split tables (a `visual7w` or `mc_table` output)",
            describe(paths)
        ));
    }
    Ok(found.into_iter().collect())
}

/// `test` for `.../test.parquet`; `None` for other files and hidden ones.
fn split_name(file: &Path) -> Option<String> {
    if file.extension()? != "parquet" {
        return None;
    }
    let stem = file.file_stem()?.to_str()?;
    (!stem.is_empty() && !stem.starts_with('.')).then(|| stem.to_string())
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
