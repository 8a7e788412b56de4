//! Reading Parquet tables with errors that name the file, the column and the row: the whole file,
//! and typed columns out of it (strings with or without nulls, floats narrowed to `f32`).

use std::fs::File;
use std::path::Path;

use pipeline_api::StageError;
use polars::prelude::*;

/// Reads a whole Parquet file.
pub fn read_parquet(path: &Path) -> Result<DataFrame, StageError> {
    let file =
        File::open(path).map_err(|e| StageError::io(format!("opening `{}`", path.display()), e))?;
    ParquetReader::new(file).finish().map_err(|e| {
        StageError::caused(
            format!("`{}`: not a readable Parquet file", path.display()),
            e,
        )
    })
}

/// A string column without nulls.
pub fn string_column(
    frame: &DataFrame,
    name: &str,
    path: &Path,
) -> Result<Vec<String>, StageError> {
    optional_strings(frame, name, path)?
        .into_iter()
        .enumerate()
        .map(|(row, value)| value.ok_or_else(|| null_error(path, name, row)))
        .collect()
}

/// A string column; nulls are `None`.
pub fn optional_strings(
    frame: &DataFrame,
    name: &str,
    path: &Path,
) -> Result<Vec<Option<String>>, StageError> {
    let column = column(frame, name, path)?;
    let strings = column.str().map_err(|_| {
        StageError::failed(format!(
            "`{}`: column `{name}` is {}, not a string",
            path.display(),
            column.dtype()
        ))
    })?;
    Ok(strings
        .iter()
        .map(|value| value.map(str::to_string))
        .collect())
}

pub fn float_column(frame: &DataFrame, name: &str, path: &Path) -> Result<Vec<f32>, StageError> {
    let column = column(frame, name, path)?;
    let wrong_type = || {
        StageError::failed(format!(
            "`{}`: column `{name}` is {}, not Float32",
            path.display(),
            column.dtype()
        ))
    };
    if !column.dtype().is_float() {
        return Err(wrong_type());
    }
    let narrowed = column.cast(&DataType::Float32).map_err(|_| wrong_type())?;
    let values = narrowed.f32().map_err(|_| wrong_type())?;
    values
        .iter()
        .enumerate()
        .map(|(row, value)| value.ok_or_else(|| null_error(path, name, row)))
        .collect()
}

pub fn column<'a>(frame: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Column, StageError> {
    frame.column(name).map_err(|_| {
        let present: Vec<String> = frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        StageError::failed(format!(
            "`{}` has no column `{name}` (it has: {})",
            path.display(),
            present.join(", ")
        ))
    })
}

fn null_error(path: &Path, name: &str, row: usize) -> StageError {
    StageError::failed(format!(
        "`{}`: row {} has no `{name}` (null)",
        path.display(),
        row + 1
    ))
}
