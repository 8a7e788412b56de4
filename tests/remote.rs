//! The shared remote cache (`[pipeline] remote = "s3://..."`) on a real S3 store
//! (`scripts/s3-up.sh`, SeaweedFS on 127.0.0.1, started by `.ci/run`, which exports its `AWS_*`
//! variables). Without one these tests say so and pass, unless `PIPELINE_REQUIRE_S3=1` (set by
//! `.ci/run`). Each test works under a prefix of its own in the bucket.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use common::{Project, parse_run, sh_stage};

/// Whether an S3 endpoint is configured; panics if one is required and none is.
fn s3() -> bool {
    let configured = std::env::var_os("AWS_ENDPOINT").is_some()
        && std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    if !configured && std::env::var("PIPELINE_REQUIRE_S3").as_deref() == Ok("1") {
        panic!("PIPELINE_REQUIRE_S3=1 but no S3 endpoint is configured (scripts/s3-up.sh)");
    }
    if !configured {
        eprintln!("skipped: no S3 endpoint (AWS_ENDPOINT unset)");
    }
    configured
}

fn bucket() -> String {
    std::env::var("AWS_BUCKET").unwrap_or_else(|_| "pipeline-cache".to_string())
}

/// A prefix no other test or run uses.
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("tests/{test}-{}-{nanos}", std::process::id())
}

/// prepare -> {left, right} -> join, sharing the remote under `prefix`.
fn project(prefix: &str) -> Project {
    let manifest = format!(
        "[pipeline]\nremote = \"s3://{}/{prefix}\"\n\n{}",
        bucket(),
        common::diamond()
    );
    let project = Project::new(&manifest);
    project.write("data/raw.txt", "b\nc\na\n");
    project
}

/// Output digest of each stage, from the run records in a project's cache.
fn outputs(project: &Project) -> BTreeMap<String, String> {
    common::files_below(&project.path("cache/v1/runs"))
        .iter()
        .map(|file| {
            let record: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            (
                record["stage"].as_str().unwrap().to_string(),
                record["output"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `curl` signed for the S3 store: GET into `file`, or PUT `file`.
fn s3_object(method: &str, key: &str, file: &std::path::Path) {
    let url = format!(
        "{}/{}/{key}",
        std::env::var("AWS_ENDPOINT").unwrap(),
        bucket()
    );
    let user = format!(
        "{}:{}",
        std::env::var("AWS_ACCESS_KEY_ID").unwrap(),
        std::env::var("AWS_SECRET_ACCESS_KEY").unwrap()
    );
    let mut command = Command::new("curl");
    command.args([
        "-sS",
        "--fail",
        "--aws-sigv4",
        "aws:amz:us-east-1:s3",
        "--user",
        &user,
    ]);
    match method {
        "GET" => command.arg("-o").arg(file).arg(&url),
        _ => command.arg("-T").arg(file).arg(&url),
    };
    let status = command.status().expect("curl runs");
    assert!(status.success(), "{method} {url}");
}

fn object_key(prefix: &str, digest: &str) -> String {
    format!("{prefix}/v1/objects/{}/{digest}.tar", &digest[..2])
}

#[test]
fn an_empty_cache_pulls_every_result_another_machine_computed() {
    if !s3() {
        return;
    }
    let prefix = prefix("pull");
    let first = project(&prefix);
    let run = first.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.ran().len(), 4);
    assert_eq!(run.stderr.matches("pushed  ").count(), 4, "{}", run.stderr);
    assert!(run.stderr.contains("pushed  prepare ("), "{}", run.stderr);

    let second = project(&prefix);
    let pulled = second.run(&[]);
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    assert_eq!(
        pulled.stderr.matches("pulled  ").count(),
        4,
        "{}",
        pulled.stderr
    );
    assert_eq!(
        pulled.hits(),
        ["join", "left", "prepare", "right"],
        "{}",
        pulled.stderr
    );
    assert_eq!(outputs(&second), outputs(&first));
    // What was pulled hashes, here, to the digest it is filed under.
    for (stage, digest) in outputs(&second) {
        let folder = format!("cache/v1/objects/{}/{digest}", &digest[..2]);
        let (code, stdout, stderr) = second.cli(&["hash", &folder]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with(&digest), "{stage}: {stdout}");
    }
    let offline = project(&prefix);
    let alone = offline.run(&["--no-remote"]);
    assert_eq!(
        alone.ran().len(),
        4,
        "--no-remote ran everything: {}",
        alone.stderr
    );
}

/// A remote output whose bytes are not those its record names (here another stage's archive in
/// its place) is refused, and the stage runs instead; what depends on it is still pulled.
#[test]
fn a_damaged_remote_output_is_refused_and_its_stage_runs() {
    if !s3() {
        return;
    }
    let prefix = prefix("damaged");
    let first = project(&prefix);
    assert_eq!(first.run(&[]).code, 0);
    let digests = outputs(&first);
    let scratch = tempfile::tempdir().unwrap();
    let other = scratch.path().join("join.tar");
    s3_object("GET", &object_key(&prefix, &digests["join"]), &other);
    s3_object("PUT", &object_key(&prefix, &digests["prepare"]), &other);

    let second = project(&prefix);
    let run = second.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.ran(), ["prepare"], "{}", run.stderr);
    assert_eq!(run.hits(), ["join", "left", "right"], "{}", run.stderr);
    assert!(run.stderr.contains("is damaged"), "{}", run.stderr);
    assert_eq!(outputs(&second), digests);
}

/// Two machines finishing the same keys at once: both runs succeed, one record per key stays,
/// and a third cache pulls every result.
#[test]
fn two_runs_pushing_the_same_keys_at_once_leave_one_valid_record_each() {
    if !s3() {
        return;
    }
    let prefix = prefix("race");
    let (a, b) = (project(&prefix), project(&prefix));
    let spawn = |p: &Project| {
        p.command(&["run", "pipeline.toml", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (run_a, run_b) = (spawn(&a), spawn(&b));
    for run in [run_a, run_b] {
        let result = parse_run(&run.wait_with_output().unwrap());
        assert_eq!(result.code, 0, "{}", result.stderr);
    }
    let scratch = tempfile::tempdir().unwrap();
    for (stage, digest) in outputs(&a) {
        let key = common::files_below(&a.path("cache/v1/runs"))
            .into_iter()
            .find(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .contains(&format!("\"stage\": \"{stage}\""))
            })
            .unwrap();
        let key = key.file_stem().unwrap().to_string_lossy().into_owned();
        let file = scratch.path().join(&key);
        s3_object(
            "GET",
            &format!("{prefix}/v1/runs/{}/{key}.json", &key[..2]),
            &file,
        );
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(record["output"], digest.as_str(), "{stage}");
        assert_eq!(record["key"], key.as_str());
    }
    let third = project(&prefix);
    let pulled = third.run(&[]);
    assert_eq!(pulled.hits().len(), 4, "{}", pulled.stderr);
}

/// `cache push` uploads what a run kept local (`--no-remote`); `cache pull STAGE` downloads that
/// stage and what it depends on, running nothing; the rest stays remote until asked for.
#[test]
fn cache_push_and_pull_move_results_without_running_anything() {
    if !s3() {
        return;
    }
    let prefix = prefix("push-pull");
    let first = project(&prefix);
    assert_eq!(first.run(&["--no-remote"]).ran().len(), 4);
    let (code, _, stderr) = first.cli(&["cache", "push", "pipeline.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("4 pushed, 0 already on the remote"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("pushed  ").count(), 4, "{stderr}");
    assert!(stderr.contains("pushed  prepare ("), "{stderr}");
    let (_, _, again) = first.cli(&["cache", "push", "pipeline.toml"]);
    assert!(
        again.contains("0 pushed, 4 already on the remote"),
        "{again}"
    );

    let second = project(&prefix);
    let (code, _, stderr) = second.cli(&["cache", "pull", "pipeline.toml", "left"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 stages have their results here"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("pulled  ").count(), 2, "{stderr}");
    let pulled = outputs(&second);
    assert_eq!(pulled.keys().collect::<Vec<_>>(), ["left", "prepare"]);
    let local = second.run(&["--no-remote"]);
    assert_eq!(local.hits(), ["left", "prepare"], "{}", local.stderr);
    assert_eq!(local.ran(), ["join", "right"], "{}", local.stderr);
}

/// One stage `big` writing `size` (`head -c` syntax) of random bytes, sharing the remote under
/// `prefix`.
fn big_manifest(prefix: &str, size: &str) -> String {
    format!(
        "[pipeline]\nremote = \"s3://{}/{prefix}\"\n\n{}",
        bucket(),
        sh_stage(
            "big",
            "",
            &format!("head -c {size} /dev/urandom > \"$PIPELINE_OUT/out.txt\"")
        )
        .replace("inputs = {  }\n", "")
    )
}

/// Pulls `big` into a new cache and checks it is whole: its digest and its size.
fn pull_big_whole(manifest: &str, bytes: u64) {
    let second = Project::new(manifest);
    let pulled = second.run(&[]);
    assert_eq!(pulled.hits(), ["big"], "{}", pulled.stderr);
    let digest = &outputs(&second)["big"];
    let folder = format!("cache/v1/objects/{}/{digest}", &digest[..2]);
    let (_, stdout, _) = second.cli(&["hash", &folder]);
    assert!(stdout.starts_with(digest.as_str()), "{stdout}");
    let size = std::fs::metadata(second.path(&format!("{folder}/out.txt")))
        .unwrap()
        .len();
    assert_eq!(size, bytes);
}

/// An output over the single-request limit (16 MiB) goes up in parts and comes back whole.
#[test]
fn a_large_output_travels_in_parts() {
    if !s3() {
        return;
    }
    let manifest = big_manifest(&prefix("multipart"), "40M");
    let first = Project::new(&manifest);
    assert_eq!(first.run(&[]).ran(), ["big"]);
    pull_big_whole(&manifest, 40 << 20);
}

/// The most parts any pending upload of `project` has sent (0 when none is pending).
fn parts_sent(project: &Project) -> usize {
    let uploads = project.path("cache/v1/uploads");
    let Ok(entries) = std::fs::read_dir(uploads) else {
        return 0;
    };
    entries
        .filter_map(|entry| std::fs::read(entry.ok()?.path()).ok())
        .filter_map(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .map(|state| state["parts"].as_array().map_or(0, Vec::len))
        .max()
        .unwrap_or(0)
}

/// An upload killed after two of its parts resumes: the next run, finding the result in its
/// local cache, sends only the parts the remote lacks, then the record; another machine then
/// pulls the output whole.
#[test]
fn a_killed_upload_resumes_from_the_parts_already_sent() {
    if !s3() {
        return;
    }
    let manifest = big_manifest(&prefix("resume"), "120M");
    let part_bytes = (5u64 << 20).to_string();
    let first = Project::new(&manifest);
    let mut run = first
        .command(&["run", "pipeline.toml"])
        .env("PIPELINE_REMOTE_PART_BYTES", &part_bytes)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while parts_sent(&first) < 2 {
        assert!(
            run.try_wait().unwrap().is_none(),
            "the run ended before its upload had sent two parts"
        );
        assert!(std::time::Instant::now() < deadline, "no upload started");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    run.kill().unwrap();
    run.wait().unwrap();

    let output = first
        .command(&["run", "pipeline.toml", "--json"])
        .env("PIPELINE_REMOTE_PART_BYTES", &part_bytes)
        .output()
        .unwrap();
    let rerun = parse_run(&output);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(rerun.hits(), ["big"], "{}", rerun.stderr);
    let line = rerun
        .stderr
        .lines()
        .find(|line| line.starts_with("pushed  big ("))
        .unwrap_or_else(|| panic!("no upload was finished: {}", rerun.stderr));
    let sent_mib: f64 = line["pushed  big (".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(line.contains(", resumed: "), "{line}");
    assert!(
        sent_mib <= 110.1,
        "at least two 5 MiB parts were sent again: {line}"
    );
    assert_eq!(parts_sent(&first), 0, "the upload is still pending");
    pull_big_whole(&manifest, 120 << 20);
}

/// A remote that does not answer costs one warning: the run goes on with the local cache alone
/// (no S3 store needed: the endpoint is a closed port).
#[test]
fn an_unreachable_remote_costs_one_warning_and_the_run_goes_on() {
    let project = project(&prefix("unreachable"));
    let output = project
        .command(&["run", "pipeline.toml", "--json"])
        .env("AWS_ENDPOINT", "http://127.0.0.1:1")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "nobody")
        .env("AWS_SECRET_ACCESS_KEY", "nothing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let run = parse_run(&output);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.ran().len(), 4, "{}", run.stderr);
    let warnings = run
        .stderr
        .matches("the rest of this run uses the local cache alone")
        .count();
    assert_eq!(warnings, 1, "{}", run.stderr);
}
