//! `extract = true`: a zip archive is unpacked into `<name>/` and not kept; entries that would
//! escape the folder are refused before anything is written; a truncated archive is an error.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::support::server::{Route, Server};
use crate::support::{bytes, listing, run};

/// A zip archive holding `files` (name, content), deflated, plus the listed folder entries.
fn archive(files: &[(&str, Vec<u8>)], folders: &[&str]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for folder in folders {
        zip.add_directory(*folder, deflated).unwrap();
    }
    for (name, content) in files {
        zip.start_file(*name, deflated).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn unpacks_into_a_folder_named_after_the_archive() {
    let image = bytes(150_000, 20);
    let json = br#"{"images": []}"#.to_vec();
    let zip = archive(
        &[
            ("images/v7w_1.jpg", image.clone()),
            ("dataset.json", json.clone()),
        ],
        &["images/", "empty/"],
    );
    let server = Server::start(vec![("/visual7w_images.zip", Route::file(zip))]);
    let out = tempfile::tempdir().unwrap();
    let outcome = run(
        &format!(
            "url = '{}'\nextract = true",
            server.url("/visual7w_images.zip")
        ),
        out.path(),
    );
    outcome.ok();
    assert_eq!(outcome.outputs, vec!["visual7w_images/".to_string()]);
    let expected = [
        "visual7w_images/",
        "visual7w_images/dataset.json",
        "visual7w_images/empty/",
        "visual7w_images/images/",
        "visual7w_images/images/v7w_1.jpg",
    ];
    assert_eq!(
        listing(out.path()),
        expected.map(String::from).to_vec(),
        "the archive itself is not kept"
    );
    assert_eq!(
        std::fs::read(out.path().join("visual7w_images/images/v7w_1.jpg")).unwrap(),
        image
    );
    assert_eq!(
        std::fs::read(out.path().join("visual7w_images/dataset.json")).unwrap(),
        json
    );
    let phases = outcome.progress.phases.lock().unwrap().clone();
    let unpacked = (image.len() + json.len()) as u64;
    assert_eq!(
        phases.last().unwrap(),
        &(unpacked, "bytes".to_string()),
        "unpacking is measured in bytes"
    );
    assert_eq!(*outcome.progress.position.lock().unwrap(), unpacked);
}

#[test]
fn refuses_entries_that_escape_the_folder() {
    let cases: [(&str, &str); 4] = [
        ("../evil.txt", "climbs out with `..`"),
        ("data/../../evil.txt", "climbs out with `..`"),
        ("/tmp/evil.txt", "is an absolute path"),
        ("link", "is a symbolic link"),
    ];
    for (name, why) in cases {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default();
        zip.start_file("fine.txt", options).unwrap();
        zip.write_all(b"harmless").unwrap();
        if name == "link" {
            zip.add_symlink("link", "/etc", options).unwrap();
        } else {
            zip.start_file(name, options).unwrap();
            zip.write_all(b"evil").unwrap();
        }
        let server = Server::start(vec![(
            "/slip.zip",
            Route::file(zip.finish().unwrap().into_inner()),
        )]);
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let url = server.url("/slip.zip");
        let error = run(&format!("url = '{url}'\nextract = true"), &out).error();
        assert!(
            error.contains(&format!("entry `{name}` {why}")),
            "{name}: {error}"
        );
        assert!(error.contains(&url), "{error}");
        assert!(
            listing(&out).is_empty(),
            "{name}: nothing is unpacked, not even the safe entry: {:?}",
            listing(&out)
        );
        assert_eq!(
            listing(root.path()),
            vec!["out/".to_string()],
            "{name}: nothing lands beside the output"
        );
    }
}

#[test]
fn a_truncated_archive_is_an_error() {
    let zip = archive(
        &[("a.bin", bytes(80_000, 21)), ("b.bin", bytes(80_000, 22))],
        &[],
    );
    let truncated = zip[..zip.len() * 2 / 3].to_vec();
    let server = Server::start(vec![("/cut.zip", Route::file(truncated))]);
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/cut.zip");
    let error = run(&format!("url = '{url}'\nextract = true"), out.path()).error();
    assert!(error.contains("`cut.zip`"), "{error}");
    assert!(error.contains(&url), "{error}");
    assert!(error.contains("not a complete zip archive"), "{error}");
    assert!(listing(out.path()).is_empty(), "{:?}", listing(out.path()));
}

#[test]
fn a_damaged_entry_is_an_error() {
    let content = bytes(50_000, 23);
    let mut zip = archive(&[("data.bin", content)], &[]);
    // Flip bytes inside the stored data of the only entry: its CRC no longer matches.
    let middle = zip.len() / 2;
    for byte in &mut zip[middle..middle + 16] {
        *byte ^= 0xff;
    }
    let server = Server::start(vec![("/bad.zip", Route::file(zip))]);
    let out = tempfile::tempdir().unwrap();
    let error = run(
        &format!("url = '{}'\nextract = true", server.url("/bad.zip")),
        out.path(),
    )
    .error();
    assert!(error.contains("entry `data.bin`"), "{error}");
    assert!(error.contains("not a complete zip archive"), "{error}");
}

#[test]
fn a_run_killed_while_unpacking_is_finished_without_refetching() {
    // What a run killed part-way through unpacking leaves: the whole archive in the hidden
    // folder, and a half-unpacked folder with a file the archive does not hold.
    let image = bytes(40_000, 24);
    let zip = archive(&[("images/v7w_9.jpg", image.clone())], &[]);
    let server = Server::start(vec![("/again.zip", Route::file(zip.clone()))]);
    let out = tempfile::tempdir().unwrap();
    let hidden = out.path().join(pipeline_stages_download::PARTIAL_DIR);
    std::fs::create_dir_all(&hidden).unwrap();
    std::fs::write(hidden.join("again.zip"), &zip).unwrap();
    std::fs::create_dir_all(out.path().join("again/images")).unwrap();
    std::fs::write(out.path().join("again/images/stale.jpg"), b"half").unwrap();
    let outcome = run(
        &format!("url = '{}'\nextract = true", server.url("/again.zip")),
        out.path(),
    );
    outcome.ok();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].range.as_deref(),
        Some(format!("bytes={}-", zip.len()).as_str()),
        "only asks for what is missing"
    );
    assert_eq!(
        listing(out.path()),
        ["again/", "again/images/", "again/images/v7w_9.jpg"]
            .map(String::from)
            .to_vec()
    );
    assert_eq!(
        std::fs::read(out.path().join("again/images/v7w_9.jpg")).unwrap(),
        image
    );
}
