//! One `file://` attempt: copies a local file (a mounted share, a USB disk, a file fetched by
//! hand) the same way an HTTP download goes, resuming from what is already copied.

use std::fs::File;
use std::io::{ErrorKind, Seek, SeekFrom};
use std::path::Path;

use pipeline_api::{StageContext, StageError};

use crate::partial::Partial;
use crate::transfer::{AttemptError, pump};

/// Copies what `partial` lacks of the file at `path`.
pub fn attempt(
    path: &Path,
    partial: &mut Partial,
    ctx: &mut StageContext<'_>,
) -> Result<(), AttemptError> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => AttemptError::Fatal(StageError::failed(format!(
            "`{shown}` (from a file:// URL) does not exist: check the path in `url`"
        ))),
        ErrorKind::PermissionDenied => AttemptError::Fatal(StageError::failed(format!(
            "`{shown}` (from a file:// URL) cannot be read: permission denied"
        ))),
        _ => AttemptError::Retry(format!("cannot open `{shown}`: {e}")),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| AttemptError::Retry(format!("cannot read `{shown}`: {e}")))?;
    if meta.is_dir() {
        return Err(AttemptError::Fatal(StageError::failed(format!(
            "`{shown}` (from a file:// URL) is a folder: name a file; to use a folder, bind it as an input of the stage that reads it"
        ))));
    }
    let total = meta.len();
    if partial.len() > total {
        ctx.log_line(&format!(
            "`{shown}` is shorter than what was already copied (it changed): starting over"
        ));
        partial
            .restart()
            .map_err(|e| AttemptError::disk(partial, e))?;
    }
    if partial.len() > 0 {
        ctx.log_line(&format!("resuming `{shown}` at byte {}", partial.len()));
    }
    file.seek(SeekFrom::Start(partial.len()))
        .map_err(|e| AttemptError::Retry(format!("cannot seek in `{shown}`: {e}")))?;
    pump(&mut file, partial, Some(total), ctx)
}
