//! Stages as Slurm jobs, on a real one-node cluster (`scripts/slurm-up.sh`, started by `.ci/run`,
//! which exports `SLURM_CONF` before the tests). Without a cluster these tests say so and pass,
//! unless `PIPELINE_REQUIRE_SLURM=1` (set by `.ci/run`), where a missing cluster fails them.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Project, diamond, parse_run, sh_stage};

/// Whether a cluster answers; panics if one is required and none does.
fn cluster() -> bool {
    let answers = std::env::var_os("SLURM_CONF").is_some()
        && Command::new("sinfo")
            .args(["--noheader", "--format=%T"])
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    if !answers && std::env::var("PIPELINE_REQUIRE_SLURM").as_deref() == Ok("1") {
        panic!("PIPELINE_REQUIRE_SLURM=1 but no Slurm cluster answers (scripts/slurm-up.sh)");
    }
    if !answers {
        eprintln!("skipped: no Slurm cluster (SLURM_CONF unset or sinfo fails)");
    }
    answers
}

/// The Slurm job ids a run's progress lines name.
fn job_ids(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| line.split(" as Slurm job ").nth(1))
        .map(|id| id.trim().to_string())
        .collect()
}

/// The digests of the outputs in a project's cache (each names the output's folder).
fn digests(project: &Project) -> BTreeSet<String> {
    let objects = project.path("cache/v1/objects");
    let mut found = BTreeSet::new();
    for shard in std::fs::read_dir(objects).unwrap() {
        for object in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            found.insert(object.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn a_pipeline_through_slurm_matches_the_local_run_and_reruns_as_hits() {
    if !cluster() {
        return;
    }
    let local = Project::new(&diamond());
    local.write("data/raw.txt", "b\nc\na\n");
    assert_eq!(local.run(&[]).ran().len(), 4);

    let slurm = Project::new(&diamond());
    slurm.write("data/raw.txt", "b\nc\na\n");
    let first = slurm.run(&["--executor", "slurm"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.ran(), ["join", "left", "prepare", "right"]);
    assert_eq!(
        job_ids(&first.stderr).len(),
        4,
        "one job per stage:\n{}",
        first.stderr
    );
    assert_eq!(
        digests(&slurm),
        digests(&local),
        "the same bytes as the local run"
    );

    let again = slurm.run(&["--executor", "slurm"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.hits().len(), 4);
    assert!(
        job_ids(&again.stderr).is_empty(),
        "submitted again:\n{}",
        again.stderr
    );
}

/// Three stages asking for one GPU each on a node with two (fake) GPUs: two run at once on
/// different GPUs (Slurm's `CUDA_VISIBLE_DEVICES`, handed to the stage), the third waits.
#[test]
fn gpu_stages_share_the_cluster_gpus_as_slurm_grants_them() {
    if !cluster() {
        return;
    }
    let mut manifest = String::new();
    for name in ["g1", "g2", "g3"] {
        manifest += &format!(
            "[stage.{name}]\nkind = \"exec\"\nresources = {{ gpu = 1 }}\n\
             cmd = [\"sh\", \"-c\", 'date +%s.%N > \"$PIPELINE_OUT/start\"; \
             echo \"$CUDA_VISIBLE_DEVICES\" > \"$PIPELINE_OUT/gpu\"; sleep 4; \
             date +%s.%N > \"$PIPELINE_OUT/end\"; echo {name} > \"$PIPELINE_OUT/name\"']\n\
             outputs = [\"start\", \"gpu\", \"end\", \"name\"]\n\n"
        );
    }
    let project = Project::new(&manifest);
    let run = project.run(&["--executor", "slurm"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut spans = Vec::new();
    for object in common::files_below(&project.path("cache/v1/objects")) {
        if object.file_name().unwrap() == "start" {
            let dir = object.parent().unwrap();
            let number = |file: &str| -> f64 {
                std::fs::read_to_string(dir.join(file))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            };
            let gpu = std::fs::read_to_string(dir.join("gpu"))
                .unwrap()
                .trim()
                .to_string();
            spans.push((number("start"), number("end"), gpu));
        }
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(spans.len(), 3, "{spans:?}");
    let overlap = |a: &(f64, f64, String), b: &(f64, f64, String)| a.0 < b.1 && b.0 < a.1;
    assert!(
        overlap(&spans[0], &spans[1]),
        "the first two ran at once: {spans:?}"
    );
    assert_ne!(spans[0].2, spans[1].2, "on different GPUs: {spans:?}");
    assert!(["0", "1"].contains(&spans[0].2.as_str()), "{spans:?}");
    let third = &spans[2];
    assert!(
        spans[..2].iter().any(|s| third.0 >= s.1 - 0.05),
        "the third waited for a GPU: {spans:?}"
    );
}

/// The job id of `stage`, once a running `pipeline run` submitted it and it runs.
fn running_job(project: &Project, stage: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no job of `{stage}` started");
        if let Ok(folders) = std::fs::read_dir(project.path("cache/v1/slurm")) {
            for folder in folders {
                let folder = folder.unwrap().path();
                let script = std::fs::read_to_string(folder.join("job.sh")).unwrap_or_default();
                let Ok(id) = std::fs::read_to_string(folder.join("job_id")) else {
                    continue;
                };
                if !script.contains(&format!("'--target' '{stage}'")) {
                    continue;
                }
                let id = id.trim().to_string();
                let state = Command::new("squeue")
                    .args(["--noheader", "--states=all", "--format=%T", "--jobs", &id])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&state.stdout).trim() == "RUNNING" {
                    return id;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn slow_pipeline() -> Project {
    let mut manifest = sh_stage("first", "", "echo one > \"$PIPELINE_OUT/out.txt\"");
    manifest += &sh_stage(
        "slow",
        "data = \"@first/out.txt\"",
        "if [ -n \"$PIPELINE_TEST_SLEEP\" ]; then sleep \"$PIPELINE_TEST_SLEEP\"; fi; \
         cat \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/out.txt\"",
    );
    Project::new(&manifest.replace("inputs = {  }\n", ""))
}

/// A job on a node that cannot reach the cache folder fails its stage saying so. Simulated on the
/// one node by running the job as `nobody` (`sbatch --uid`, root only), to whom the project's
/// private folder is closed: Slurm cannot open the job's log there, as on a node without the
/// folder, and the job writes nothing the submitter can read.
#[test]
fn a_job_whose_node_cannot_reach_the_cache_fails_saying_so() {
    if !cluster() {
        return;
    }
    let uid = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("skipped: `sbatch --uid=nobody` needs root");
        return;
    }
    let manifest = sh_stage("far", "", "echo x > \"$PIPELINE_OUT/out.txt\"").replace(
        "inputs = {  }\n",
        "slurm = { extra = [\"--uid=nobody\"] }\n",
    );
    let project = Project::new(&manifest);
    let run = project.run(&["--executor", "slurm"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.with_outcome("failed"), ["far"], "{}", run.stderr);
    assert!(
        run.stderr
            .contains("wrote neither its log nor its status into the cache folder")
            && run.stderr.contains("that node does not see it"),
        "{}",
        run.stderr
    );
    assert!(digests(&project).is_empty(), "a result was kept");
}

/// A job cancelled behind the run's back fails its stage, saying why; the rerun redoes only it.
#[test]
fn a_job_cancelled_with_scancel_fails_its_stage_and_the_rerun_redoes_only_it() {
    if !cluster() {
        return;
    }
    let project = slow_pipeline();
    let child = project
        .command(&["run", "pipeline.toml", "--json", "--executor", "slurm"])
        .env("PIPELINE_TEST_SLEEP", "120")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = running_job(&project, "slow");
    let (code, status, _) = project.cli(&["status", "pipeline.toml"]);
    assert_eq!(code, 0);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("slow") && l.contains(&format!("(Slurm job {id} running)"))),
        "{status}"
    );
    // `first` is done once `slow` runs; cancel the job of `slow`.
    let status = Command::new("scancel").arg(&id).status().unwrap();
    assert!(status.success());
    let cancelled = parse_run(&child.wait_with_output().unwrap());
    assert_eq!(cancelled.code, 1, "{}", cancelled.stderr);
    assert_eq!(cancelled.with_outcome("failed"), ["slow"]);
    assert!(
        cancelled.stderr.contains(&format!("Slurm job {id}"))
            && cancelled.stderr.contains("CANCELLED"),
        "{}",
        cancelled.stderr
    );
    let rerun = project.run(&["--executor", "slurm"]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(rerun.hits(), ["first"]);
    assert_eq!(rerun.ran(), ["slow"]);
}

/// Ctrl-C of the run cancels the jobs it submitted.
#[test]
fn interrupting_the_run_cancels_its_jobs() {
    if !cluster() {
        return;
    }
    let project = slow_pipeline();
    let child = project
        .command(&["run", "pipeline.toml", "--executor", "slurm"])
        .env("PIPELINE_TEST_SLEEP", "120")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = running_job(&project, "slow");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = Command::new("squeue")
            .args(["--noheader", "--states=all", "--format=%T", "--jobs", &id])
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
        if state == "CANCELLED" || state.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "job {id} is still {state}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
