//! `pipeline ui` over HTTP: it follows a run made by another process (running, then done or
//! failed, with the log and outputs), serves no file outside the project and the cache, answers
//! only to its own address, and turns a missing or corrupt cache or manifest into a page.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::web::{UiServer, statuses};
use common::{Project, sh_stage};

/// prepare -> slow (waits for a file to appear, so the test decides when it ends) -> report.
fn gated() -> String {
    let mut manifest = sh_stage(
        "prepare",
        "raw = \"data/raw.txt\"",
        "sort \"$PIPELINE_INPUT_RAW\" > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest += &sh_stage(
        "slow",
        "data = \"@prepare/out.txt\"",
        "echo waiting for the gate; while [ ! -e gate ]; do sleep 0.1; done; cat gate; cp \"$PIPELINE_INPUT_DATA\" \"$PIPELINE_OUT/out.txt\"; test \"$(cat gate)\" != fail",
    );
    manifest += &sh_stage(
        "report",
        "data = \"@slow/out.txt\"",
        "wc -l < \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest
}

fn gated_project() -> Project {
    let project = Project::new(&gated());
    project.write("data/raw.txt", "b\na\n");
    project
}

#[test]
fn the_page_follows_a_run_in_another_process_until_it_ends() {
    let project = gated_project();
    let ui = UiServer::start(&project, &["pipeline.toml"]);
    let first = ui.get("/");
    assert_eq!(first.status, 200);
    assert!(first.body.contains("No cache at"), "{}", first.body);
    let all_stale = statuses(&first.body);
    assert_eq!(all_stale.len(), 3, "{all_stale:?}");
    assert!(all_stale.values().all(|s| s == "stale"), "{all_stale:?}");

    let mut run = project.command(&["run", "pipeline.toml"]);
    let mut run = run.stderr(Stdio::null()).spawn().unwrap();
    let (page, seen) = ui.wait_for("/part?stage=slow", Duration::from_secs(60), |page| {
        statuses(page).get("slow").map(String::as_str) == Some("running")
            && page.contains("waiting for the gate")
    });
    assert!(
        seen.is_some(),
        "the running stage and its log never showed: {page}"
    );
    let during = statuses(&page);
    assert_eq!(during["prepare"], "up-to-date", "{during:?}");
    assert_eq!(during["report"], "stale", "{during:?}");
    assert!(page.contains("In progress: run "), "{page}");

    project.write("gate", "pass\n");
    assert!(run.wait().unwrap().success());
    let (page, seen) = ui.wait_for("/part?stage=report", Duration::from_secs(30), |page| {
        let now = statuses(page);
        now.len() == 3 && now.values().all(|s| s == "up-to-date")
    });
    let seen = seen.unwrap_or_else(|| panic!("the finished run never showed: {page}"));
    eprintln!("the finished run showed {seen:?} after the run ended");
    assert!(
        page.contains("No run of this pipeline is in progress."),
        "{page}"
    );
    assert!(
        page.contains(">report</a></td><td>miss</td>"),
        "the history: {page}"
    );
    // The output is listed with its size and can be opened.
    let link = page
        .split("href=\"")
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .find(|href| href.starts_with("/files/cache/") && href.contains("/out.txt"))
        .unwrap_or_else(|| panic!("no link to the output in {page}"));
    let served = ui.get(&link.replace("&amp;", "&"));
    assert_eq!((served.status, served.body.trim()), (200, "2"));

    // A rerun from the cache shows as cached.
    assert_eq!(project.run(&[]).hits().len(), 3);
    let (page, seen) = ui.wait_for("/", Duration::from_secs(30), |page| {
        statuses(page).values().all(|s| s == "cached")
    });
    assert!(seen.is_some(), "{page}");

    // A failing stage shows as failed, with its log and why it would run again.
    project.edit("sort", "sort -r");
    std::fs::remove_file(project.path("gate")).unwrap();
    let mut rerun = project.command(&["run", "pipeline.toml"]);
    let mut rerun = rerun.stderr(Stdio::null()).spawn().unwrap();
    project.write("gate", "fail\n");
    assert!(!rerun.wait().unwrap().success());
    let (page, seen) = ui.wait_for("/part?stage=slow", Duration::from_secs(30), |page| {
        statuses(page).get("slow").map(String::as_str) == Some("failed")
    });
    assert!(seen.is_some(), "the failure never showed: {page}");
    assert!(
        page.contains("FAILED  slow"),
        "the log's last lines: {page}"
    );
    assert!(page.contains("Why it would run"), "{page}");
}

#[test]
fn no_file_outside_the_project_and_the_cache_is_served() {
    let project = gated_project();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), project.path("link.txt"))
        .unwrap();
    let ui = UiServer::start(&project, &["pipeline.toml"]);
    assert_eq!(ui.get("/").status, 200);
    let served = ui.get("/files/root/data/raw.txt");
    assert_eq!((served.status, served.body.as_str()), (200, "b\na\n"));
    let secret = outside.path().join("secret.txt");
    let absolute = secret.display().to_string();
    let encoded = absolute.replace('/', "%2F");
    let depth = "../".repeat(12);
    let attempts = [
        format!("/files/root/{depth}{}", absolute.trim_start_matches('/')),
        format!("/files/root/..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..{encoded}"),
        format!("/files/root/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E{absolute}"),
        format!("/files/root/{encoded}"),
        format!("/files/root//{absolute}"),
        "/files/root/link.txt".to_string(),
        "/files/cache/../link.txt".to_string(),
        "/files/cache/..%2Flink.txt".to_string(),
        format!("/files/elsewhere/{}", absolute.trim_start_matches('/')),
        "/files/root/data%5C..%5C..%5Csecret.txt".to_string(),
    ];
    for path in attempts {
        let answer = ui.get(&path);
        assert!(
            matches!(answer.status, 400 | 403 | 404),
            "{path}: {} {}",
            answer.status,
            answer.body
        );
        assert!(!answer.body.contains("SECRET"), "{path} leaked the file");
    }
    assert_eq!(
        ui.get("/files/root/link.txt").status,
        403,
        "a link out is refused"
    );
}

#[test]
fn requests_for_another_host_or_outside_the_api_are_refused() {
    let project = gated_project();
    let ui = UiServer::start(&project, &["pipeline.toml"]);
    let port = ui.address.rsplit(':').next().unwrap().to_string();
    let page = ui.get("/");
    assert_eq!(page.status, 200);
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert_eq!(page.header("access-control-allow-origin"), None);
    for host in [format!("localhost:{port}"), format!("[::1]:{port}")] {
        let answer = ui.request(&format!("GET / HTTP/1.1\r\nHost: {host}\r\n"));
        assert_eq!(answer.status, 200, "{host}");
    }
    // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
    for host in [
        format!("evil.example:{port}"),
        "127.0.0.1".to_string(),
        format!("127.0.0.1:{port}.evil.example"),
    ] {
        let answer = ui.request(&format!("GET / HTTP/1.1\r\nHost: {host}\r\n"));
        assert_eq!(answer.status, 421, "{host}: {}", answer.body);
        assert!(!answer.body.contains("<svg"), "{host} got the page");
    }
    let no_host = ui.request("GET / HTTP/1.0\r\n");
    assert_eq!(no_host.status, 400, "{}", no_host.body);
    let post = ui.request(&format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n",
        ui.address
    ));
    assert_eq!(post.status, 405);
    assert_eq!(ui.get("/nothing-here").status, 404);
    let unknown = ui.get("/?stage=nope");
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains("No stage `nope`"), "{}", unknown.body);
    let garbage = ui.request("GARBAGE\r\n");
    assert_eq!(garbage.status, 400);
    assert_eq!(ui.get("/").status, 200, "still serving");
}

#[test]
fn a_missing_or_corrupt_cache_or_manifest_is_a_page_that_says_so() {
    let project = gated_project();
    project.write("gate", "fail\n");
    assert_eq!(project.run(&[]).code, 1, "slow fails at its gate");
    let mut ui = UiServer::start(&project, &["pipeline.toml"]);
    assert_eq!(statuses(&ui.get("/").body)["prepare"], "up-to-date");

    // Every run record garbled: the stages are stale, the page still comes.
    for record in common::files_below(&project.path("cache/v1/runs")) {
        std::fs::write(record, "{ not json").unwrap();
    }
    std::fs::write(project.path("cache/v1/ledger.jsonl"), "garbage\n{\n").unwrap();
    let (page, seen) = ui.wait_for("/", Duration::from_secs(10), |page| {
        statuses(page).get("prepare").map(String::as_str) == Some("stale")
    });
    assert!(seen.is_some(), "{page}");
    assert!(page.contains("No run yet."), "{page}");

    // A manifest that does not parse.
    let manifest = project.read("pipeline.toml");
    project.write("pipeline.toml", "[stage.broken\n");
    let (page, seen) = ui.wait_for("/", Duration::from_secs(10), |page| {
        page.contains("The manifest is invalid")
    });
    assert!(seen.is_some(), "{page}");
    assert!(page.contains("pipeline.toml"), "{page}");
    project.write("pipeline.toml", &manifest);

    // The cache folder is not a folder.
    std::fs::remove_dir_all(project.path("cache")).unwrap();
    std::fs::create_dir_all(project.path("cache")).unwrap();
    std::fs::write(project.path("cache/v1"), "not a folder").unwrap();
    let (page, seen) = ui.wait_for("/", Duration::from_secs(10), |page| {
        page.contains("No cache at") || page.contains("Cannot open the cache")
    });
    assert!(seen.is_some(), "{page}");
    assert!(ui.is_running(), "the server survived");
}
