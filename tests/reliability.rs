//! Killed runs, concurrent runs and inputs that change under a running stage.

mod common;

use std::time::{Duration, Instant};

use common::{Project, parse_run, sh_stage};

fn wait_for(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_mid_stage_leaves_nothing_complete_and_the_rerun_redoes_it() {
    let mut manifest = sh_stage("first", "", "echo one > \"$PIPELINE_OUT/out.txt\"");
    manifest += &sh_stage("slow", "x = \"@first\"",
        "echo partial > \"$PIPELINE_OUT/out.txt\"; echo $$ > started.pid; sleep 30; echo complete > \"$PIPELINE_OUT/out.txt\"");
    manifest += "[stage.ship]\nkind = \"publish\"\ninputs = { f = \"@slow/out.txt\" }\npath = \"results/out.txt\"\n";
    let project = Project::new(&manifest);
    let mut child = project.command(&["run", "pipeline.toml"]).spawn().unwrap();
    wait_for(&project.path("started.pid"));
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stage_pid = project.read("started.pid").trim().parse::<i32>().unwrap();
    // The stage's own process outlives a SIGKILLed engine; end it as a user would.
    std::process::Command::new("kill").arg("-9").arg(stage_pid.to_string()).status().unwrap();
    std::fs::remove_file(project.path("started.pid")).unwrap();

    assert!(!project.path("results/out.txt").exists(), "a killed run published its output");
    let (_, status, _) = project.cli(&["status", "pipeline.toml"]);
    assert!(status.contains("first  up to date"), "{status}");
    assert!(status.contains("slow   stale"), "{status}");
    project.edit("sleep 30; ", "");
    let rerun = project.run(&[]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(rerun.hits(), ["first"]);
    assert_eq!(rerun.ran(), ["ship", "slow"]);
    assert_eq!(project.read("results/out.txt"), "complete\n");
}

#[test]
fn two_concurrent_runs_compute_each_stage_once() {
    let mut manifest = sh_stage("count", "", "echo run >> runs.log; sleep 1; echo value > \"$PIPELINE_OUT/out.txt\"");
    manifest += &sh_stage("after", "x = \"@count/out.txt\"", "cat \"$PIPELINE_INPUT_X\" > \"$PIPELINE_OUT/out.txt\"");
    let project = Project::new(&manifest);
    let a = project.command(&["run", "pipeline.toml", "--json"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let b = project.command(&["run", "pipeline.toml", "--json"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let (a, b) = (parse_run(&a.wait_with_output().unwrap()), parse_run(&b.wait_with_output().unwrap()));
    assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
    assert_eq!(project.read("runs.log"), "run\n", "the stage ran more than once");
    let ran: Vec<&str> = a.ran().into_iter().chain(b.ran()).collect();
    assert_eq!(ran.iter().filter(|s| **s == "count").count(), 1);
    assert!(a.stderr.contains("waiting for `count`") || b.stderr.contains("waiting for `count`"));
    let (code, report, _) = project.cli(&["cache", "verify"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn an_input_that_changes_mid_run_is_not_cached() {
    let manifest = sh_stage("reader", "data = \"data.txt\"", "cat \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/out.txt\"; echo more >> data.txt");
    let project = Project::new(&manifest);
    project.write("data.txt", "first\n");
    let result = project.run(&[]);
    assert_eq!(result.code, 1);
    assert!(result.stderr.contains("changed while the stage ran; the result was not cached"), "{}", result.stderr);
    let (_, status, _) = project.cli(&["status", "pipeline.toml"]);
    assert!(status.contains("stale"), "{status}");
}

#[test]
fn a_missing_declared_output_fails_and_caches_nothing() {
    let manifest = "[stage.lazy]\nkind = \"exec\"\ncmd = [\"true\"]\noutputs = [\"model.bin\"]\n";
    let project = Project::new(manifest);
    let result = project.run(&[]);
    assert_eq!(result.code, 1);
    assert!(result.stderr.contains("without writing its declared output `model.bin`"), "{}", result.stderr);
    assert_eq!(project.run(&[]).code, 1, "a failed stage must not become a cache hit");
}

#[test]
fn cache_verify_finds_damage_and_gc_keeps_what_pipelines_use() {
    let manifest = sh_stage("make", "", "echo ${vars.n} > \"$PIPELINE_OUT/out.txt\"").replace("[stage.make]", "[vars]\nn = 1\n\n[stage.make]");
    let project = Project::new(&manifest);
    assert_eq!(project.run(&[]).code, 0);
    project.edit("n = 1", "n = 2");
    assert_eq!(project.run(&[]).code, 0);
    project.edit("n = 2", "n = 3");
    assert_eq!(project.run(&[]).code, 0);
    let (code, out, err) = project.cli(&["cache", "gc", "pipeline.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed 2 run records and 2 outputs"), "{out}");
    let (_, du, _) = project.cli(&["cache", "du", "--json"]);
    let du: serde_json::Value = serde_json::from_str(&du).unwrap();
    assert_eq!(du["outputs"], 1);
    // Damage the stored output: verify notices, repair removes it, the next run recomputes.
    let object = common::files_below(&project.path("cache/v1/objects")).pop().unwrap();
    let mut permissions = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&object, permissions).unwrap();
    std::fs::write(&object, "tampered\n").unwrap();
    let (code, report, _) = project.cli(&["cache", "verify"]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("damaged: output"), "{report}");
    assert_eq!(project.cli(&["cache", "verify", "--repair"]).0, 0);
    assert_eq!(project.run(&[]).ran(), ["make"]);
}
