//! Fetching over HTTP: plain downloads, resuming after cut connections, retries and their limit,
//! errors that must not be retried, silent servers, and resuming a failed run in a later run.

use sha2::Digest;

use crate::support::server::{Route, Server};
use crate::support::{bytes, listing, run};

#[test]
fn plain_download_writes_the_file_and_reports_bytes() {
    let body = bytes(700_000, 1);
    let server = Server::start(vec![("/data/train.bin", Route::file(body.clone()))]);
    let out = tempfile::tempdir().unwrap();
    let outcome = run(
        &format!("url = '{}'", server.url("/data/train.bin")),
        out.path(),
    );
    outcome.ok();
    assert_eq!(outcome.outputs, vec!["train.bin".to_string()]);
    assert_eq!(
        listing(out.path()),
        vec!["train.bin".to_string()],
        "nothing but the file is left"
    );
    assert_eq!(std::fs::read(out.path().join("train.bin")).unwrap(), body);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].range, None,
        "a fresh download asks for the whole file"
    );
    let phases = outcome.progress.phases.lock().unwrap().clone();
    assert_eq!(
        phases[0],
        (body.len() as u64, "bytes".to_string()),
        "the transfer is measured in bytes"
    );
    assert!(
        outcome.log.contains("blake3:"),
        "the log offers a checksum to pin:\n{}",
        outcome.log
    );
}

#[test]
fn file_parameter_names_the_output() {
    let server = Server::start(vec![("/download", Route::file(b"payload".to_vec()))]);
    let out = tempfile::tempdir().unwrap();
    let outcome = run(
        &format!(
            "url = '{}?id=3'\nfile = 'named.txt'",
            server.url("/download")
        ),
        out.path(),
    );
    outcome.ok();
    assert_eq!(listing(out.path()), vec!["named.txt".to_string()]);
    assert_eq!(
        std::fs::read(out.path().join("named.txt")).unwrap(),
        b"payload"
    );
}

#[test]
fn resumes_with_a_range_request_after_a_dropped_connection() {
    let body = bytes(1_000_000, 2);
    let half = body.len() / 2;
    let route = Route::file(body.clone()).cut(half, 1);
    let server = Server::start(vec![("/big.bin", route)]);
    let out = tempfile::tempdir().unwrap();
    // The checksum is hashed as bytes arrive: it must cover both attempts exactly once.
    let checksum = format!("blake3:{}", blake3::hash(&body).to_hex());
    let outcome = run(
        &format!(
            "url = '{}'\nchecksum = '{checksum}'",
            server.url("/big.bin")
        ),
        out.path(),
    );
    outcome.ok();
    assert_eq!(
        std::fs::read(out.path().join("big.bin")).unwrap(),
        body,
        "the resumed file is whole and right"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one cut attempt, one resumed attempt");
    assert_eq!(requests[0].range, None);
    assert_eq!(
        requests[1].range.as_deref(),
        Some(format!("bytes={half}-").as_str())
    );
    assert!(
        requests[1].if_range.is_some(),
        "the resumed request names the version it continues"
    );
    assert!(
        outcome.log.contains(&format!(
            "resuming `{}` at byte {half}",
            server.url("/big.bin")
        )),
        "{}",
        outcome.log
    );
}

#[test]
fn keeps_going_over_a_link_that_drops_again_and_again() {
    // Every answer stops after 30 kB: each attempt brings new bytes, so the failure count keeps
    // starting over and the download completes although there are more cuts than `retries`.
    let body = bytes(200_000, 3);
    let server = Server::start(vec![(
        "/flaky.bin",
        Route::file(body.clone()).cut(30_000, usize::MAX),
    )]);
    let out = tempfile::tempdir().unwrap();
    let outcome = run(
        &format!("url = '{}'\nretries = 1", server.url("/flaky.bin")),
        out.path(),
    );
    outcome.ok();
    assert_eq!(std::fs::read(out.path().join("flaky.bin")).unwrap(), body);
    assert_eq!(server.requests().len(), body.len().div_ceil(30_000));
}

#[test]
fn starts_over_when_the_server_ignores_range() {
    let body = bytes(300_000, 4);
    let route = Route::file(body.clone()).cut(100_000, 1).without_ranges();
    let server = Server::start(vec![("/norange.bin", route)]);
    let out = tempfile::tempdir().unwrap();
    // Starting over resets the running checksum too.
    let checksum = format!("blake3:{}", blake3::hash(&body).to_hex());
    let outcome = run(
        &format!(
            "url = '{}'\nchecksum = '{checksum}'",
            server.url("/norange.bin")
        ),
        out.path(),
    );
    outcome.ok();
    assert_eq!(
        std::fs::read(out.path().join("norange.bin")).unwrap(),
        body,
        "no bytes doubled or lost"
    );
    assert!(outcome.log.contains("starting over"), "{}", outcome.log);
}

#[test]
fn gives_up_after_the_retries_and_says_why() {
    let server = Server::start(vec![("/down.bin", Route::status(503))]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/down.bin");
    let outcome = run(&format!("url = '{url}'\nretries = 2"), out.path());
    let error = outcome.error();
    assert_eq!(server.requests().len(), 3, "the first try and two retries");
    assert!(error.contains(&url), "{error}");
    assert!(error.contains("failed 3 times in a row"), "{error}");
    assert!(error.contains("HTTP 503"), "{error}");
    assert!(error.contains("raise `retries` (now 2)"), "{error}");
}

#[test]
fn not_found_fails_at_once_with_the_url_and_status() {
    let server = Server::start(vec![]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/missing.zip");
    let error = run(&format!("url = '{url}'"), out.path()).error();
    assert_eq!(server.requests().len(), 1, "a 404 is not retried");
    assert!(error.contains(&url), "{error}");
    assert!(error.contains("HTTP 404 Not Found"), "{error}");
    assert!(error.contains("check it for typos"), "{error}");
}

#[test]
fn a_silent_server_times_out() {
    let server = Server::start(vec![("/slow", Route::silent())]);
    let out = tempfile::tempdir().unwrap();
    let error = run(
        &format!(
            "url = '{}'\ntimeout_s = 1\nretries = 0",
            server.url("/slow")
        ),
        out.path(),
    )
    .error();
    assert!(error.contains("silent for 1s"), "{error}");
}

#[test]
fn a_failed_run_is_resumed_by_the_next_run() {
    let body = bytes(400_000, 5);
    let third = body.len() / 3;
    // The first run gets a third of the file and, allowed no retry, fails; the engine keeps the
    // staging folder of a resumable stage, so the next run continues from there.
    let server = Server::start(vec![("/part.bin", Route::file(body.clone()).cut(third, 1))]);
    let out = tempfile::tempdir().unwrap();
    // The second run hashes what the first one left, then what it receives.
    let sha: String = sha2::Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let params = format!(
        "url = '{}'\nretries = 0\nchecksum = 'sha256:{sha}'",
        server.url("/part.bin")
    );
    let error = run(&params, out.path()).error();
    assert!(
        error.contains(&format!("The {third} bytes received are kept")),
        "{error}"
    );
    let outcome = run(&params, out.path());
    outcome.ok();
    assert!(
        outcome.log.contains(&format!("{third} bytes already here")),
        "{}",
        outcome.log
    );
    assert_eq!(
        server.requests()[1].range.as_deref(),
        Some(format!("bytes={third}-").as_str())
    );
    assert_eq!(std::fs::read(out.path().join("part.bin")).unwrap(), body);
    assert_eq!(listing(out.path()), vec!["part.bin".to_string()]);
}
