//! The run cache end to end, through the real binary on `exec` pipelines.

mod common;

use common::{Project, sh_stage};

/// prepare -> train -> report, plus an independent `other`.
fn chain() -> String {
    let mut manifest = String::from("[vars]\nscale = 2\n\n");
    manifest += &sh_stage(
        "prepare",
        "raw = \"data/raw.txt\"",
        "cat \"$PIPELINE_INPUT_RAW\" > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest +=
        "[stage.train]\nkind = \"exec\"\ninputs = { data = \"@prepare/out.txt\" }\nlr = 0\n";
    manifest += "cmd = [\"sh\", \"-c\", 'echo \"lr=${vars.scale}\" | cat - \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/out.txt\"']\noutputs = [\"out.txt\"]\n\n";
    manifest += &sh_stage(
        "report",
        "model = \"@train/out.txt\"",
        "wc -l < \"$PIPELINE_INPUT_MODEL\" > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest += &sh_stage(
        "other",
        "raw = \"data/raw.txt\"",
        "echo other > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest.replace("\nlr = 0\n", "\n")
}

fn project() -> Project {
    let project = Project::new(&chain());
    project.write("data/raw.txt", "a\nb\n");
    project
}

#[test]
fn cold_run_runs_everything_and_warm_run_nothing() {
    let project = project();
    let cold = project.run(&[]);
    assert_eq!(cold.code, 0, "{}", cold.stderr);
    assert_eq!(cold.ran(), ["other", "prepare", "report", "train"]);
    let warm = project.run(&[]);
    assert_eq!(warm.code, 0, "{}", warm.stderr);
    assert!(warm.ran().is_empty(), "warm run executed {:?}", warm.ran());
    assert_eq!(warm.hits().len(), 4);
}

#[test]
fn a_parameter_edit_reruns_only_the_stage_and_its_dependents() {
    let project = project();
    assert_eq!(project.run(&[]).code, 0);
    project.edit("scale = 2", "scale = 3");
    let (_, status, _) = project.cli(&["status", "pipeline.toml"]);
    assert!(
        status.contains("train") && status.contains("param cmd[2]"),
        "{status}"
    );
    let result = project.run(&[]);
    assert_eq!(result.ran(), ["report", "train"], "{}", result.stderr);
    assert_eq!(result.hits(), ["other", "prepare"]);
}

#[test]
fn an_input_edit_is_explained_and_reruns_dependents() {
    let project = project();
    assert_eq!(project.run(&[]).code, 0);
    project.write("data/raw.txt", "a\nb\nc\n");
    let (_, status, _) = project.cli(&["status", "pipeline.toml"]);
    assert!(
        status.contains("input raw (data/raw.txt) content changed"),
        "{status}"
    );
    let result = project.run(&[]);
    assert_eq!(result.ran(), ["other", "prepare", "report", "train"]);
}

#[test]
fn identical_upstream_output_leaves_downstream_cached() {
    let project = project();
    assert_eq!(project.run(&[]).code, 0);
    // A new parameter changes prepare's key but not the bytes it writes.
    project.edit(
        "cat \"$PIPELINE_INPUT_RAW\" > \"$PIPELINE_OUT/out.txt\"",
        "cat \"$PIPELINE_INPUT_RAW\" > \"$PIPELINE_OUT/out.txt\" # same bytes",
    );
    let result = project.run(&[]);
    assert_eq!(result.ran(), ["prepare"], "{}", result.stderr);
    assert_eq!(result.hits(), ["other", "report", "train"]);
}

#[test]
fn reverting_a_change_restores_without_running() {
    let project = project();
    assert_eq!(project.run(&[]).code, 0);
    let before = project
        .cli(&["explain", "pipeline.toml", "report", "--json"])
        .1;
    project.edit("scale = 2", "scale = 5");
    assert_eq!(project.run(&[]).ran(), ["report", "train"]);
    project.edit("scale = 5", "scale = 2");
    let (_, status, _) = project.cli(&["status", "pipeline.toml"]);
    assert!(status.contains("restored from the run cache"), "{status}");
    let result = project.run(&[]);
    assert!(result.ran().is_empty(), "revert ran {:?}", result.ran());
    let after = project
        .cli(&["explain", "pipeline.toml", "report", "--json"])
        .1;
    let key = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap()["key"].clone();
    assert_eq!(key(&before), key(&after));
}

#[test]
fn adding_a_matrix_member_runs_only_it_and_its_dependents() {
    let mut manifest = String::new();
    manifest += &sh_stage("data", "", "echo data > \"$PIPELINE_OUT/out.txt\"");
    manifest += "[stage.member]\nkind = \"exec\"\nmatrix = { seed = [1, 2] }\ninputs = { data = \"@data/out.txt\" }\n";
    manifest += "cmd = [\"sh\", \"-c\", 'echo \"seed ${matrix.seed}\" > \"$PIPELINE_OUT/out.txt\"']\noutputs = [\"out.txt\"]\n\n";
    manifest += &sh_stage(
        "ensemble",
        "members = \"@member\"",
        "cat ${inputs.members} > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest = manifest.replace(
        "cat ${inputs.members}",
        "for d in ${inputs.members}; do cat \"$d/out.txt\"; done",
    );
    let project = Project::new(&manifest);
    let cold = project.run(&[]);
    assert_eq!(
        cold.ran(),
        ["data", "ensemble", "member[seed=1]", "member[seed=2]"],
        "{}",
        cold.stderr
    );
    project.edit("seed = [1, 2]", "seed = [1, 2, 3]");
    let result = project.run(&[]);
    assert_eq!(
        result.ran(),
        ["ensemble", "member[seed=3]"],
        "{}",
        result.stderr
    );
    assert_eq!(result.hits(), ["data", "member[seed=1]", "member[seed=2]"]);
    let (_, dot, _) = project.cli(&["dag", "pipeline.toml", "--format", "dot"]);
    assert_eq!(dot.matches("->").count(), 6, "{dot}");
}

#[test]
fn target_and_force_select_what_runs() {
    let project = project();
    let partial = project.run(&["--target", "train"]);
    assert_eq!(partial.ran(), ["prepare", "train"]);
    let forced = project.run(&["--force", "prepare"]);
    assert_eq!(forced.ran(), ["other", "prepare", "report"]);
    let all = project.run(&["--force-all"]);
    assert_eq!(all.ran().len(), 4);
}

#[test]
fn keep_going_runs_what_does_not_depend_on_a_failure() {
    let mut manifest = String::new();
    manifest += &sh_stage("broken", "", "echo doomed; exit 3");
    manifest += &sh_stage(
        "after",
        "x = \"@broken\"",
        "echo > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest += &sh_stage("fine", "", "sleep 0.3; echo ok > \"$PIPELINE_OUT/out.txt\"");
    let project = Project::new(&manifest);
    let result = project.run(&["--keep-going", "--jobs", "1"]);
    assert_eq!(result.code, 1);
    assert_eq!(result.with_outcome("failed"), ["broken"]);
    assert_eq!(result.with_outcome("skipped"), ["after"]);
    assert_eq!(result.ran(), ["fine"]);
    assert!(
        result.stderr.contains("exit status: 3") && result.stderr.contains("doomed"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_failed_stage_log_ends_with_the_reason_and_log_shows_it() {
    let mut manifest = sh_stage("silent", "", "true");
    manifest += &sh_stage("crashing", "", "echo working; exit 3");
    let project = Project::new(&manifest);
    let result = project.run(&["--keep-going"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_eq!(result.with_outcome("failed"), ["crashing", "silent"]);
    let logs = common::files_below(&project.path("cache/v1/logs"));
    for (stage, reason) in [
        ("silent", "without writing its declared output `out.txt`"),
        ("crashing", "exit status: 3"),
    ] {
        let log = logs.iter().find(|p| {
            p.file_name()
                .is_some_and(|n| n == format!("{stage}.log").as_str())
        });
        let text = std::fs::read_to_string(
            log.unwrap_or_else(|| panic!("no log for `{stage}` in {logs:?}")),
        )
        .unwrap();
        let last = text
            .lines()
            .rev()
            .find(|l| l.starts_with("FAILED"))
            .unwrap_or_default();
        assert!(
            last.starts_with(&format!("FAILED  {stage}: ")) && text.contains(reason),
            "log of `{stage}`:\n{text}"
        );
        assert!(
            result.stderr.contains(last),
            "the log and the console differ:\n{last}\n{}",
            result.stderr
        );
    }
    let (code, out, err) = project.cli(&["log", "pipeline.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("error: the stage finished without writing its declared output `out.txt`"),
        "{out}"
    );
    assert!(
        out.contains("error: `sh` exit status: 3") && out.contains("silent.log"),
        "{out}"
    );
}

#[test]
fn published_files_are_restored_from_the_cache() {
    let mut manifest = sh_stage("make", "", "echo result > \"$PIPELINE_OUT/out.txt\"");
    manifest += "[stage.ship]\nkind = \"publish\"\ninputs = { file = \"@make/out.txt\" }\npath = \"results/final.txt\"\n";
    let project = Project::new(&manifest);
    assert_eq!(project.run(&[]).code, 0);
    assert_eq!(project.read("results/final.txt"), "result\n");
    std::fs::remove_file(project.path("results/final.txt")).unwrap();
    let result = project.run(&[]);
    assert!(result.ran().is_empty());
    assert_eq!(project.read("results/final.txt"), "result\n");
}

#[test]
fn gpu_stages_get_distinct_devices_and_never_share_one() {
    let mut manifest = String::new();
    for name in ["g1", "g2"] {
        let script = format!(
            "date +%s%N > \"$PIPELINE_OUT/out.txt\"; echo \"gpu=$CUDA_VISIBLE_DEVICES\" >> \"$PIPELINE_OUT/out.txt\"; sleep 0.5; date +%s%N >> \"$PIPELINE_OUT/out.txt\"; echo {name} >> \"$PIPELINE_OUT/out.txt\""
        );
        manifest += &sh_stage(name, "", &script);
        manifest += "resources = { gpu = 1 }\n\n";
    }
    let project = Project::new(&manifest);
    let two = project.run(&["--gpus", "0,1", "--jobs", "2"]);
    assert_eq!(two.ran().len(), 2, "{}", two.stderr);
    let mut devices: Vec<String> = gpu_runs(&project)
        .into_iter()
        .map(|(gpu, _, _)| gpu)
        .collect();
    devices.sort();
    assert_eq!(devices, ["gpu=0", "gpu=1"]);
    std::fs::remove_dir_all(project.path("cache")).unwrap();
    let one = project.run(&["--gpus", "0", "--jobs", "2"]);
    assert_eq!(one.ran().len(), 2, "{}", one.stderr);
    let mut intervals: Vec<(u128, u128)> = gpu_runs(&project)
        .into_iter()
        .map(|(_, start, end)| (start, end))
        .collect();
    intervals.sort();
    assert!(
        intervals[0].1 <= intervals[1].0,
        "two stages held GPU 0 at once: {intervals:?}"
    );
    let missing = project.run(&["--gpus", "", "--force-all"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("needs 1 GPU(s) but 0 are available"),
        "{}",
        missing.stderr
    );
}

/// (device line, start ns, end ns) of each stored GPU stage output.
fn gpu_runs(project: &Project) -> Vec<(String, u128, u128)> {
    common::files_below(&project.path("cache/v1/objects"))
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).ok()?;
            let lines: Vec<&str> = text.lines().collect();
            Some((
                lines.get(1)?.to_string(),
                lines.first()?.parse().ok()?,
                lines.get(2)?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn explain_shows_a_stage_description() {
    let manifest = chain().replace(
        "[stage.train]\n",
        "[stage.train]\ndesc = \"fits the toy model\"\n",
    );
    let project = Project::new(&manifest);
    project.write("data/raw.txt", "a\nb\n");
    let (code, text, err) = project.cli(&["explain", "pipeline.toml", "train"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("desc:   fits the toy model"), "{text}");
    let (_, json, _) = project.cli(&["explain", "pipeline.toml", "train", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["desc"], "fits the toy model");
    let (_, other, _) = project.cli(&["explain", "pipeline.toml", "other", "--json"]);
    assert!(serde_json::from_str::<serde_json::Value>(&other).unwrap()["desc"].is_null());
}
