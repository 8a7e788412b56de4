//! `file://` URLs: a local file is copied like a download (checksum and extraction included), a
//! missing one is a clear error, and a cancelled run stops.

use pipeline_api::{CancelToken, StageError};
use sha2::Digest;

use crate::support::{bytes, listing, run, run_with};

/// A `file://` URL for `path`, with spaces percent-encoded.
fn file_url(path: &std::path::Path) -> String {
    format!("file://{}", path.display().to_string().replace(' ', "%20"))
}

#[test]
fn copies_a_local_file_and_checks_its_checksum() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = source_dir.path().join("my data.bin");
    let body = bytes(600_000, 30);
    std::fs::write(&source, &body).unwrap();
    let sha: String = sha2::Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = tempfile::tempdir().unwrap();
    let outcome = run(
        &format!("url = '{}'\nchecksum = 'sha256:{sha}'", file_url(&source)),
        out.path(),
    );
    outcome.ok();
    assert_eq!(listing(out.path()), vec!["my data.bin".to_string()]);
    assert_eq!(std::fs::read(out.path().join("my data.bin")).unwrap(), body);
    assert_eq!(
        outcome.progress.phases.lock().unwrap()[0],
        (body.len() as u64, "bytes".to_string())
    );
}

#[test]
fn a_missing_local_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.zip");
    let out = tempfile::tempdir().unwrap();
    let error = run(&format!("url = '{}'", file_url(&missing)), out.path()).error();
    assert!(error.contains(&missing.display().to_string()), "{error}");
    assert!(error.contains("does not exist"), "{error}");
}

#[test]
fn a_cancelled_run_stops_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("a.bin");
    std::fs::write(&source, bytes(10_000, 31)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let outcome = run_with(
        &format!("url = '{}'", file_url(&source)),
        out.path(),
        &cancel,
    );
    assert!(
        matches!(outcome.result, Err(StageError::Cancelled)),
        "{:?}",
        outcome.result
    );
    assert!(!out.path().join("a.bin").exists());
}
