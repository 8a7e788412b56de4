//! The `download` stage: fetch, verify, then move the file into place or unpack it.
//!
//! The stage is resumable: an interrupted or failed run leaves its unfinished download in a hidden
//! folder of its staging directory, and the next run with the same parameters continues it with a
//! Range request. Anything else an interrupted run left (a half-unpacked folder) is cleared first.

use std::path::Path;
use std::time::Duration;

use pipeline_api::{ParamError, Stage, StageContext, StageError};

use crate::checksum::Algorithm;
use crate::extract::unzip;
use crate::params::DownloadParams;
use crate::partial::{self, PARTIAL_DIR, Partial};
use crate::transfer::{self, Settings};
use crate::url;

pub struct Download;

impl Stage for Download {
    const KIND: &'static str = "download";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Fetches a URL (https, http, file) into the output: resumes after a \
        dropped connection (HTTP Range), retries with backoff, checks an optional `checksum` \
        (sha256: or blake3:) and, with `extract = true`, unpacks a zip archive into `<name>/` \
        (refusing entries that would escape it). Keyed by its parameters: a URL once downloaded \
        is not fetched again unless forced.";
    type Params = DownloadParams;

    fn validate(params: &DownloadParams) -> Result<(), ParamError> {
        params.check()
    }

    fn outputs(params: &DownloadParams) -> Vec<String> {
        params.outputs()
    }

    fn resumable(_params: &DownloadParams) -> bool {
        true
    }

    fn run(&self, params: &DownloadParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let source = url::parse(&params.url).map_err(StageError::failed)?;
        let name = params.file_name().map_err(StageError::failed)?;
        clear_all_but_partial(ctx.out_dir)?;
        let algorithm = params.expected().map_or(Algorithm::Blake3, |c| c.algorithm);
        let mut partial = Partial::open(ctx.out_dir, &name, algorithm).map_err(|e| {
            StageError::io(
                format!("opening `{}`", ctx.out_dir.join(PARTIAL_DIR).display()),
                e,
            )
        })?;
        if partial.len() > 0 {
            ctx.log_line(&format!(
                "continuing an unfinished download: {} bytes already here",
                partial.len()
            ));
        }
        let settings = Settings {
            retries: params.retries,
            timeout: Duration::from_secs(params.timeout_s),
        };
        transfer::download(&params.url, &source, &mut partial, &settings, ctx)?;
        ctx.log_line(&format!(
            "downloaded {} bytes from `{}`",
            partial.len(),
            params.url
        ));
        if let Err(error) = verify(params, &partial, ctx) {
            discard(partial, ctx);
            return Err(error);
        }
        if params.extract {
            let folder = ctx
                .out_dir
                .join(params.folder_name().map_err(StageError::failed)?);
            match unzip(partial.path(), &params.url, &folder, ctx) {
                Ok(count) => ctx.log_line(&format!(
                    "unpacked {count} entries into `{}/`",
                    folder_label(&folder)
                )),
                Err(error) => {
                    // A damaged or unsafe archive is fetched afresh next time; after a
                    // cancellation or a disk error, the next run unpacks the same download.
                    if matches!(error, StageError::Failed(_)) {
                        discard(partial, ctx);
                    }
                    return Err(error);
                }
            }
            return finish(partial, None);
        }
        finish(partial, Some(&ctx.out_dir.join(&name)))
    }
}

/// Checks the expected checksum, or logs the file's BLAKE3 so that the user can pin it.
fn verify(
    params: &DownloadParams,
    partial: &Partial,
    ctx: &mut StageContext<'_>,
) -> Result<(), StageError> {
    let actual = partial.checksum();
    match params.expected() {
        None => {
            ctx.log_line(&format!(
                "no checksum given; to pin this file add `checksum = \"{actual}\"`"
            ));
            Ok(())
        }
        Some(expected) if expected == actual => {
            ctx.log_line(&format!("checksum verified: {actual}"));
            Ok(())
        }
        Some(expected) => Err(StageError::failed(format!(
            "checksum mismatch for `{}`:\n  expected {expected}\n  actual   {actual}\n\
             The file is corrupt, or the server now serves a different file. The download was \
             deleted; run again to fetch it afresh, and if the mismatch stays, check the source \
             (a mirror may differ) and update `checksum` only if you trust the new file.",
            params.url
        ))),
    }
}

/// Removes a download that must not be resumed (wrong bytes, damaged archive).
fn discard(partial: Partial, ctx: &mut StageContext<'_>) {
    if let Err(e) = partial.discard() {
        ctx.log_line(&format!("could not delete the failed download: {e}"));
    }
}

/// Moves the finished file to `target` (or drops it after unpacking) and removes the hidden folder.
fn finish(partial: Partial, target: Option<&Path>) -> Result<(), StageError> {
    let (path, dir) = partial
        .complete()
        .map_err(|e| StageError::io("flushing the download", e))?;
    if let Some(target) = target {
        std::fs::rename(&path, target).map_err(|e| {
            StageError::io(format!("moving the download to `{}`", target.display()), e)
        })?;
    }
    partial::remove_dir(&dir)
        .map_err(|e| StageError::io(format!("removing `{}`", dir.display()), e))
}

/// Clears what an interrupted run left besides its unfinished download (a half-unpacked folder).
fn clear_all_but_partial(out_dir: &Path) -> Result<(), StageError> {
    let context = || format!("clearing `{}`", out_dir.display());
    let entries = std::fs::read_dir(out_dir).map_err(|e| StageError::io(context(), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StageError::io(context(), e))?;
        if entry.file_name() == PARTIAL_DIR {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| StageError::io(format!("removing `{}`", path.display()), e))?;
    }
    Ok(())
}

fn folder_label(folder: &Path) -> String {
    folder
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
