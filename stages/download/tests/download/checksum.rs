//! Checksums: a right one (SHA-256 or BLAKE3) lets the download through, a wrong one fails the
//! stage with both digests and deletes the bytes so the next run fetches afresh.

use sha2::Digest;

use crate::support::server::{Route, Server};
use crate::support::{bytes, listing, run};

fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_matching_sha256_passes() {
    let body = bytes(250_000, 10);
    let server = Server::start(vec![("/a.bin", Route::file(body.clone()))]);
    let out = tempfile::tempdir().unwrap();
    let checksum = format!("sha256:{}", sha256_hex(&body));
    let outcome = run(
        &format!("url = '{}'\nchecksum = '{checksum}'", server.url("/a.bin")),
        out.path(),
    );
    outcome.ok();
    assert!(
        outcome
            .log
            .contains(&format!("checksum verified: {checksum}")),
        "{}",
        outcome.log
    );
    assert_eq!(std::fs::read(out.path().join("a.bin")).unwrap(), body);
}

#[test]
fn a_matching_blake3_passes_in_upper_case_too() {
    let body = bytes(250_000, 11);
    let server = Server::start(vec![("/b.bin", Route::file(body.clone()))]);
    let out = tempfile::tempdir().unwrap();
    let hex = blake3::hash(&body).to_hex().to_uppercase();
    let outcome = run(
        &format!(
            "url = '{}'\nchecksum = 'BLAKE3:{hex}'",
            server.url("/b.bin")
        ),
        out.path(),
    );
    outcome.ok();
    assert_eq!(std::fs::read(out.path().join("b.bin")).unwrap(), body);
}

#[test]
fn a_mismatch_fails_with_both_digests_and_leaves_nothing() {
    let expected_body = bytes(100_000, 12);
    let served = bytes(100_000, 13);
    let server = Server::start(vec![("/c.bin", Route::file(served.clone()))]);
    let out = tempfile::tempdir().unwrap();
    let expected = format!("sha256:{}", sha256_hex(&expected_body));
    let actual = format!("sha256:{}", sha256_hex(&served));
    let url = server.url("/c.bin");
    let error = run(
        &format!("url = '{url}'\nchecksum = '{expected}'"),
        out.path(),
    )
    .error();
    assert!(error.contains("checksum mismatch"), "{error}");
    assert!(error.contains(&url), "{error}");
    assert!(error.contains(&format!("expected {expected}")), "{error}");
    assert!(error.contains(&format!("actual   {actual}")), "{error}");
    assert!(
        listing(out.path()).is_empty(),
        "the wrong bytes are deleted: {:?}",
        listing(out.path())
    );
    // The next run fetches from the first byte instead of resuming a finished wrong file.
    let _ = run(
        &format!("url = '{url}'\nchecksum = '{expected}'"),
        out.path(),
    );
    assert_eq!(server.requests()[1].range, None);
}

#[test]
fn a_malformed_checksum_is_refused_before_running() {
    let kind = pipeline_stages_download::stages().remove(0);
    let params: toml::Value =
        toml::from_str("url = 'https://example.org/a.bin'\nchecksum = 'md5:abc'").unwrap();
    let error = kind.prepare(params).err().expect("refused");
    assert_eq!(error.path, "checksum");
    assert!(
        error.message.contains("sha256:<64 hex digits>"),
        "{}",
        error.message
    );
}
