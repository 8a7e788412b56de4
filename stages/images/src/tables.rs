//! The `img_path`s that the optional `tables` input references: Parquet or CSV files with an
//! `img_path` column (what the `visual7w` stage writes) or plain lists (`.txt`, `.lst`: one path
//! per line, blank lines and `#` comments ignored).

use std::collections::BTreeSet;
use std::path::Path;

use pipeline_api::{StageError, check_relative};

/// The column that names an image, relative to the images folder.
pub const IMG_PATH_COLUMN: &str = "img_path";

/// Every distinct `img_path` the tables reference, sorted. A table folder is read file by file.
pub fn referenced_paths(tables: &[impl AsRef<Path>]) -> Result<BTreeSet<String>, StageError> {
    let mut wanted = BTreeSet::new();
    for table in tables {
        read_any(table.as_ref(), &mut wanted)?;
    }
    Ok(wanted)
}

fn read_any(path: &Path, wanted: &mut BTreeSet<String>) -> Result<(), StageError> {
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| StageError::io(format!("listing tables folder `{}`", path.display()), e))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|file| table_kind(file).is_some())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(StageError::failed(format!(
                "tables folder `{}` holds no .parquet, .csv or .txt table",
                path.display()
            )));
        }
        return files.iter().try_for_each(|file| read_any(file, wanted));
    }
    match table_kind(path) {
        Some(TableKind::Parquet) => read_parquet(path, wanted),
        Some(TableKind::Csv) => read_csv(path, wanted),
        Some(TableKind::List) => read_list(path, wanted),
        None => Err(StageError::failed(format!(
            "table `{}`: unsupported format; give a Parquet or CSV table with an `img_path` \
             column, or a .txt list of image paths (one a line)",
            path.display()
        ))),
    }
}

enum TableKind {
    Parquet,
    Csv,
    List,
}

fn table_kind(path: &Path) -> Option<TableKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "parquet" => Some(TableKind::Parquet),
        "csv" => Some(TableKind::Csv),
        "txt" | "lst" => Some(TableKind::List),
        _ => None,
    }
}

fn read_csv(path: &Path, wanted: &mut BTreeSet<String>) -> Result<(), StageError> {
    let shown = path.display();
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| StageError::caused(format!("table `{shown}`: cannot open"), e))?;
    let headers = reader
        .headers()
        .map_err(|e| StageError::caused(format!("table `{shown}`: bad header line"), e))?;
    let column = headers.iter().position(|name| name == IMG_PATH_COLUMN).ok_or_else(|| {
        StageError::failed(format!(
            "table `{shown}` has no `{IMG_PATH_COLUMN}` column (columns: {}): add one that names \
             each image relative to the images folder",
            headers.iter().collect::<Vec<_>>().join(", ")
        ))
    })?;
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record =
            record.map_err(|e| StageError::caused(format!("table `{shown}` line {line}"), e))?;
        let value = record.get(column).unwrap_or_default();
        add(value, wanted)
            .map_err(|why| StageError::failed(format!("table `{shown}` line {line}: {why}")))?;
    }
    Ok(())
}

fn read_parquet(path: &Path, wanted: &mut BTreeSet<String>) -> Result<(), StageError> {
    use polars::prelude::{ParquetReader, SerReader};
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| StageError::io(format!("opening table `{shown}`"), e))?;
    let frame = ParquetReader::new(file)
        .with_columns(Some(vec![IMG_PATH_COLUMN.to_string()]))
        .finish()
        .map_err(|e| {
            StageError::failed(format!(
                "table `{shown}`: cannot read its `{IMG_PATH_COLUMN}` column ({e}): give a Parquet \
             table with an `{IMG_PATH_COLUMN}` string column naming each image"
            ))
        })?;
    let column = frame
        .column(IMG_PATH_COLUMN)
        .and_then(|c| c.str().cloned())
        .map_err(|e| {
            StageError::failed(format!(
                "table `{shown}`: `{IMG_PATH_COLUMN}` is not a string column ({e})"
            ))
        })?;
    for (row, value) in column.iter().enumerate() {
        add(value.unwrap_or_default(), wanted)
            .map_err(|why| StageError::failed(format!("table `{shown}` row {}: {why}", row + 1)))?;
    }
    Ok(())
}

fn read_list(path: &Path, wanted: &mut BTreeSet<String>) -> Result<(), StageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| StageError::io(format!("reading table `{}`", path.display()), e))?;
    for (index, line) in text.lines().enumerate() {
        let line_text = line.trim();
        if line_text.is_empty() || line_text.starts_with('#') {
            continue;
        }
        add(line_text, wanted).map_err(|why| {
            StageError::failed(format!(
                "table `{}` line {}: {why}",
                path.display(),
                index + 1
            ))
        })?;
    }
    Ok(())
}

fn add(value: &str, wanted: &mut BTreeSet<String>) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!(
            "empty `{IMG_PATH_COLUMN}`: every row must name its image"
        ));
    }
    let posix = value.replace('\\', "/");
    check_relative(&posix).map_err(|e| format!("`{IMG_PATH_COLUMN}` {e}"))?;
    let normal = posix.trim_start_matches("./").to_string();
    wanted.insert(normal);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_column_and_lists_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("train.csv");
        std::fs::write(
            &csv,
            "ID,img_path,Question\n1,b.jpg,\"What, here?\"\n2,a.jpg,x\n3,b.jpg,y\n",
        )
        .unwrap();
        let list = dir.path().join("more.txt");
        std::fs::write(&list, "# extra\n\nsub/c.png\n").unwrap();
        let got = referenced_paths(&[csv, list]).unwrap();
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            ["a.jpg", "b.jpg", "sub/c.png"]
        );
    }

    #[test]
    fn missing_column_and_escaping_paths_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "ID,image\n1,a.jpg\n").unwrap();
        let message = referenced_paths(&[&csv]).unwrap_err().to_string();
        assert!(
            message.contains("t.csv") && message.contains("no `img_path` column"),
            "{message}"
        );
        std::fs::write(&csv, "img_path\nok.jpg\n../up.jpg\n").unwrap();
        let message = referenced_paths(&[&csv]).unwrap_err().to_string();
        assert!(
            message.contains("line 3") && message.contains(".."),
            "{message}"
        );
    }

    #[test]
    fn a_folder_reads_its_tables_and_parquet_is_read() {
        use polars::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("val.csv"), "img_path\nb.jpg\n").unwrap();
        let mut frame = df!("ID" => ["T1", "T2"], "img_path" => ["c.jpg", "a.jpg"]).unwrap();
        let file = std::fs::File::create(dir.path().join("train.parquet")).unwrap();
        ParquetWriter::new(file).finish(&mut frame).unwrap();
        let got = referenced_paths(&[dir.path()]).unwrap();
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            ["a.jpg", "b.jpg", "c.jpg"]
        );
        std::fs::write(dir.path().join("bad.parquet"), b"PAR1").unwrap();
        let message = referenced_paths(&[dir.path().join("bad.parquet")])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("bad.parquet") && message.contains("cannot read"),
            "{message}"
        );
    }
}
