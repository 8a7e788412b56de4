//! `pipeline ui` in a real browser: headless Chromium loads the page while the reduced demo runs in
//! another process, then once it has finished, and the DOM it built is checked: every stage is
//! drawn, a stage is running and then every one is up to date, the training curves are charted and
//! the curves picture loads. A screenshot is saved. Skipped when no Chromium is installed, unless
//! `PIPELINE_REQUIRE_BROWSER` is set (CI installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::web::{UiServer, statuses};
use common::{Project, reduced_demo};

const STAGES: usize = 19;

#[test]
fn the_page_in_a_browser_follows_the_demo_from_running_to_done() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("PIPELINE_REQUIRE_BROWSER").is_none(),
            "PIPELINE_REQUIRE_BROWSER is set but no chromium is on the PATH (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium on the PATH");
        return;
    };
    let project = Project::new(&reduced_demo());
    let ui = UiServer::start(&project, &["pipeline.toml"]);
    let url = |query: &str| format!("http://{}/{query}", ui.address);
    let mut run = project.command(&["run", "pipeline.toml"]);
    let mut run = run.stderr(Stdio::null()).spawn().unwrap();

    // While training: the loss so far is charted (the server says so first, then the browser).
    let (page, seen) = ui.wait_for("/part?stage=train_a", Duration::from_secs(600), |page| {
        statuses(page).get("train_a").map(String::as_str) == Some("running")
            && page.contains(r#"data-chart="loss""#)
    });
    assert!(
        seen.is_some(),
        "train_a never showed running with a loss chart: {page}"
    );
    let profile = tempfile::tempdir().unwrap();
    let during = dump_dom(&browser, profile.path(), &url("?stage=train_a"));
    let shown = statuses(&during);
    assert_eq!(shown.len(), STAGES, "every stage is drawn: {shown:?}");
    assert!(
        shown.values().any(|s| s == "running"),
        "a stage runs: {shown:?}"
    );
    if shown["train_a"] == "running" {
        assert!(during.contains(r#"data-chart="loss""#), "{during}");
    }

    assert!(run.wait().unwrap().success(), "the demo runs");
    let (page, seen) = ui.wait_for("/part", Duration::from_secs(30), |page| {
        statuses(page)
            .values()
            .filter(|s| *s == "up-to-date")
            .count()
            == STAGES
    });
    assert!(seen.is_some(), "the finished run never showed: {page}");
    let after = dump_dom(&browser, profile.path(), &url("?stage=train_a"));
    let shown = statuses(&after);
    assert!(shown.values().all(|s| s == "up-to-date"), "{shown:?}");
    assert!(after.contains(r#"data-chart="loss""#) && after.contains(r#"data-chart="accuracy""#));
    let curves = after
        .split("<img ")
        .skip(1)
        .find(|img| img.contains(r#"data-file="curves.png""#))
        .unwrap_or_else(|| panic!("no curves picture in {after}"));
    assert!(
        curves.contains("data-loaded=\""),
        "the curves picture did not load: {curves}"
    );

    let shot = screenshot(&browser, profile.path(), &url("?stage=train_a"));
    let bytes = std::fs::read(&shot).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{}",
        shot.display()
    );
    eprintln!("screenshot: {}", shot.display());
}

/// `chromium` (Debian) or `chromium-browser` on the PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .args([
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        // Lets the page's script run (and its pictures load) before the DOM is taken.
        .arg("--virtual-time-budget=5000")
        .stderr(Stdio::null());
    command
}

/// The DOM after the page's script has run.
fn dump_dom(browser: &Path, profile: &Path, url: &str) -> String {
    let output = headless(browser, profile)
        .args(["--dump-dom", url])
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium --dump-dom {url} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn screenshot(browser: &Path, profile: &Path, url: &str) -> PathBuf {
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-demo.png");
    let _ = std::fs::remove_file(&shot);
    let status = headless(browser, profile)
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=1400,1900", url])
        .status()
        .expect("chromium runs");
    assert!(status.success(), "chromium --screenshot failed");
    shot
}
