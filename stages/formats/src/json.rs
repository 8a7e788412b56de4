//! JSON files as stages write them: pretty, with a final newline, errors naming the file.

use std::path::Path;

use pipeline_api::StageError;

/// Writes `value` as pretty JSON with a final newline.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), StageError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| StageError::caused(format!("encoding `{}`", path.display()), e))?;
    text.push('\n');
    std::fs::write(path, text)
        .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))
}
