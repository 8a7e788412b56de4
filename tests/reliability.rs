//! Killed runs, concurrent runs and inputs that change under a running stage.

mod common;

use std::time::{Duration, Instant};

use common::{Project, parse_run, sh_stage};

fn wait_for(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_mid_stage_leaves_nothing_complete_and_the_rerun_redoes_it() {
    let mut manifest = sh_stage("first", "", "echo one > \"$PIPELINE_OUT/out.txt\"");
    manifest += &sh_stage(
        "slow",
        "x = \"@first\"",
        "echo partial > \"$PIPELINE_OUT/out.txt\"; echo $$ > started.pid; sleep 30; echo complete > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest += "[stage.ship]\nkind = \"publish\"\ninputs = { f = \"@slow/out.txt\" }\npath = \"results/out.txt\"\n";
    let project = Project::new(&manifest);
    kill_engine_mid_stage(&project);
    std::fs::remove_file(project.path("started.pid")).unwrap();

    assert!(
        !project.path("results/out.txt").exists(),
        "a killed run published its output"
    );
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

/// Starts `pipeline run`, SIGKILLs the engine's own pid once the stage's program wrote its pid to
/// `started.pid`, and checks that the program died with it. Returns the program's pid.
fn kill_engine_mid_stage(project: &Project) -> i32 {
    let mut child = project.command(&["run", "pipeline.toml"]).spawn().unwrap();
    wait_for(&project.path("started.pid"));
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL, the engine's pid only
    child.wait().unwrap();
    let stage_pid = project.read("started.pid").trim().parse::<i32>().unwrap();
    assert_dies(stage_pid);
    stage_pid
}

/// The program a stage ran ends with the engine that started it (Linux: PR_SET_PDEATHSIG).
fn assert_dies(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) {
        if Instant::now() > deadline {
            let _ = std::process::Command::new("kill")
                .args(["-9", "--", &format!("-{pid}")])
                .status();
            panic!("the stage's program (pid {pid}) outlived the SIGKILLed engine");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_killed_engine_takes_its_program_along_and_a_late_writer_cannot_reach_the_rerun() {
    // The first attempt leaves a grandchild that writes into its output folder 2 s later, while
    // the rerun (started at once, 3 s long) is still working on the same key.
    let mut manifest = sh_stage(
        "slow",
        "",
        "echo $$ > started.pid; if [ -f second ]; then sleep 3; else (sleep 2; echo late > \"$PIPELINE_OUT/late.txt\") & sleep 30; fi; echo complete > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest +=
        "[stage.ship]\nkind = \"publish\"\ninputs = { f = \"@slow\" }\npath = \"results/slow\"\n";
    let project = Project::new(&manifest);
    let stage_pid = kill_engine_mid_stage(&project);
    project.write("second", "");
    let rerun = project.run(&[]);
    // The orphaned `sleep 30` of the first attempt is no longer needed.
    let _ = std::process::Command::new("kill")
        .args(["-9", "--", &format!("-{stage_pid}")])
        .status();
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(rerun.ran(), ["ship", "slow"]);
    assert_eq!(project.read("results/slow/out.txt"), "complete\n");
    assert!(
        !project.path("results/slow/late.txt").exists(),
        "a killed attempt's late writer reached the rerun's output"
    );
    let (code, report, _) = project.cli(&["cache", "verify"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn a_stage_that_writes_into_its_input_fails_and_the_input_is_computed_again() {
    let mut manifest = sh_stage(
        "make",
        "",
        "echo good > \"$PIPELINE_OUT/out.txt\"; echo made >> makes.log",
    );
    manifest += &sh_stage(
        "vandal",
        "x = \"@make/out.txt\"",
        "echo extra > \"$(dirname \"$PIPELINE_INPUT_X\")/extra.txt\"; echo done > \"$PIPELINE_OUT/out.txt\"",
    );
    let project = Project::new(&manifest);
    let result = project.run(&[]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("stage `vandal` wrote into its input `@make` (`extra.txt` changed)"),
        "{}",
        result.stderr
    );
    let (code, report, _) = project.cli(&["cache", "verify"]);
    assert_eq!(code, 0, "the damaged output stayed in the cache: {report}");
    // Fixed, the stage runs again on a recomputed, intact input.
    project.edit(
        "echo extra > \"$(dirname \"$PIPELINE_INPUT_X\")/extra.txt\"; ",
        "",
    );
    let rerun = project.run(&[]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(rerun.ran(), ["make", "vandal"]);
    assert_eq!(project.read("makes.log"), "made\nmade\n");
}

#[test]
fn a_stage_cannot_rewrite_its_inputs_in_place() {
    // The read-only views need a privileged engine (CI runs as root, where the read-only bit of
    // cached files alone stops nothing).
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: read-only input views need root (CAP_SYS_ADMIN)");
        return;
    }
    let mut manifest = sh_stage("make", "", "echo good > \"$PIPELINE_OUT/out.txt\"");
    manifest += &sh_stage(
        "vandal",
        "x = \"@make/out.txt\", d = \"data.txt\"",
        "echo bad > \"$PIPELINE_INPUT_X\"; echo bad > \"$PIPELINE_INPUT_D\"; echo done > \"$PIPELINE_OUT/out.txt\"",
    );
    let project = Project::new(&manifest);
    project.write("data.txt", "data\n");
    let result = project.run(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(project.read("data.txt"), "data\n");
    let (code, report, _) = project.cli(&["cache", "verify"]);
    assert_eq!(code, 0, "{report}");
    let log = common::files_below(&project.path("cache/v1/logs"))
        .into_iter()
        .find(|p| p.ends_with("vandal.log"))
        .unwrap();
    let log = std::fs::read_to_string(log).unwrap();
    assert_eq!(log.matches("Read-only file system").count(), 2, "{log}");
}

#[test]
fn two_concurrent_runs_compute_each_stage_once() {
    let mut manifest = sh_stage(
        "count",
        "",
        "echo run >> runs.log; sleep 1; echo value > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest += &sh_stage(
        "after",
        "x = \"@count/out.txt\"",
        "cat \"$PIPELINE_INPUT_X\" > \"$PIPELINE_OUT/out.txt\"",
    );
    let project = Project::new(&manifest);
    let a = project
        .command(&["run", "pipeline.toml", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = project
        .command(&["run", "pipeline.toml", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (
        parse_run(&a.wait_with_output().unwrap()),
        parse_run(&b.wait_with_output().unwrap()),
    );
    assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
    assert_eq!(
        project.read("runs.log"),
        "run\n",
        "the stage ran more than once"
    );
    let ran: Vec<&str> = a.ran().into_iter().chain(b.ran()).collect();
    assert_eq!(ran.iter().filter(|s| **s == "count").count(), 1);
    assert!(a.stderr.contains("waiting for `count`") || b.stderr.contains("waiting for `count`"));
    let (code, report, _) = project.cli(&["cache", "verify"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn an_input_that_changes_mid_run_is_not_cached() {
    // Another process (here the test) edits the input while the stage runs.
    let manifest = sh_stage(
        "reader",
        "data = \"data.txt\"",
        "cat \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/out.txt\"; touch started; while [ ! -f go ]; do sleep 0.05; done",
    );
    let project = Project::new(&manifest);
    project.write("data.txt", "first\n");
    let run = project
        .command(&["run", "pipeline.toml", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&project.path("started"));
    project.write("data.txt", "first\nmore\n");
    project.write("go", "");
    let result = parse_run(&run.wait_with_output().unwrap());
    assert_eq!(result.code, 1);
    assert!(
        result
            .stderr
            .contains("changed while the stage ran; the result was not cached"),
        "{}",
        result.stderr
    );
    let (_, status, _) = project.cli(&["status", "pipeline.toml"]);
    assert!(status.contains("stale"), "{status}");
}

#[test]
fn a_missing_declared_output_fails_and_caches_nothing() {
    let manifest = "[stage.lazy]\nkind = \"exec\"\ncmd = [\"true\"]\noutputs = [\"model.bin\"]\n";
    let project = Project::new(manifest);
    let result = project.run(&[]);
    assert_eq!(result.code, 1);
    assert!(
        result
            .stderr
            .contains("without writing its declared output `model.bin`"),
        "{}",
        result.stderr
    );
    assert_eq!(
        project.run(&[]).code,
        1,
        "a failed stage must not become a cache hit"
    );
}

#[test]
fn cache_verify_finds_damage_and_gc_keeps_what_pipelines_use() {
    let manifest = sh_stage("make", "", "echo ${vars.n} > \"$PIPELINE_OUT/out.txt\"")
        .replace("[stage.make]", "[vars]\nn = 1\n\n[stage.make]");
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
    let object = common::files_below(&project.path("cache/v1/objects"))
        .pop()
        .unwrap();
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
