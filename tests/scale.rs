//! Matrices that explode: the instance limit (`[pipeline] max_instances`), one diagnostic per
//! problem of a stage table however many instances share it, and ten thousand instances that
//! plan, dry-run, run and rerun through the real binary.

mod common;

use common::Project;

/// `[stage.t]`: an `exec` stage with the matrix `axes` (name, length) whose instances run
/// `true` with their matrix values; `settings` go under `[pipeline]`.
fn matrix_manifest(settings: &str, axes: &[(&str, usize)]) -> String {
    let matrix: Vec<String> = axes
        .iter()
        .map(|(name, length)| {
            let values: Vec<String> = (0..*length).map(|i| i.to_string()).collect();
            format!("{name} = [{}]", values.join(", "))
        })
        .collect();
    let args: Vec<String> = axes
        .iter()
        .map(|(name, _)| format!("\"{name}=${{matrix.{name}}}\""))
        .collect();
    format!(
        "[pipeline]\n{settings}\n\n[stage.t]\nkind = \"exec\"\nmatrix = {{ {} }}\ncmd = [\"true\", {}]\n",
        matrix.join(", "),
        args.join(", ")
    )
}

/// 1-based line and column of the first `needle` in `text`.
fn position(text: &str, needle: &str) -> String {
    let offset = text.find(needle).expect("needle in text");
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{line}:{column}")
}

#[test]
fn a_matrix_over_the_default_limit_is_refused_before_it_is_expanded() {
    // Six axes, 300,000 instances: over the default limit of 200,000.
    let manifest = matrix_manifest(
        "",
        &[
            ("a", 10),
            ("b", 10),
            ("c", 10),
            ("d", 10),
            ("e", 10),
            ("f", 3),
        ],
    );
    let project = Project::new(&manifest);
    let (code, stdout, stderr) = project.cli(&["dag", "pipeline.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("stage `t` would make 300,000 instances: more than the limit of 200,000 instances per manifest"), "{stderr}");
    assert!(
        stderr.contains(&format!("pipeline.toml:{}", position(&manifest, "{ a = "))),
        "{stderr}"
    );
    assert!(stderr.contains("max_instances = 300000"), "{stderr}");
    assert!(stderr.len() < 2_000, "{} bytes", stderr.len());
}

#[test]
fn the_limit_is_the_manifests_to_raise_and_counts_every_stage() {
    let mut manifest = matrix_manifest("max_instances = 100", &[("a", 10), ("b", 10)]);
    let project = Project::new(&manifest);
    let (code, stdout, stderr) = project.cli(&["dag", "pipeline.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 100, "{stdout}");

    // A second stage brings the total to 101: refused, at the stage that crosses the limit.
    manifest.push_str("\n[stage.u]\nkind = \"exec\"\ncmd = [\"true\"]\n");
    project.write("pipeline.toml", &manifest);
    let (code, _, stderr) = project.cli(&["run", "pipeline.toml", "--dry-run"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "stage `u` would make 1 instance, 101 with the other stages: more than the limit of 100"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pipeline.toml:{}", position(&manifest, "u]"))),
        "{stderr}"
    );

    project.edit("max_instances = 100", "max_instances = 0");
    let (code, _, stderr) = project.cli(&["dag", "pipeline.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`max_instances` must be a positive integer"),
        "{stderr}"
    );
}

#[test]
fn a_problem_shared_by_ten_thousand_instances_is_reported_once() {
    let manifest = matrix_manifest("", &[("a", 1000), ("b", 10)])
        .replace("cmd = ", "inputs = { data = \"missing.csv\" }\ncmd = ");
    let project = Project::new(&manifest);
    let (code, _, stderr) = project.cli(&["run", "pipeline.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("input file `missing.csv` does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("(in 10000 instances of `t`)"), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(stderr.len() < 2_000, "{} bytes", stderr.len());

    // The same mistake with a different value in each instance: one diagnostic, the first shown.
    project.write("missing.csv", "x\n");
    project.edit("\"a=${matrix.a}\"", "\"${matrix.a}\"");
    let (code, _, stderr) = project.cli(&["run", "pipeline.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("(and in 9999 other instances of `t`)"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(stderr.len() < 2_000, "{} bytes", stderr.len());
}

#[test]
fn ten_thousand_instances_at_the_limit_plan_and_dry_run() {
    let project = Project::new(&matrix_manifest(
        "max_instances = 10000",
        &[("a", 1000), ("b", 10)],
    ));
    let (code, stdout, stderr) = project.cli(&["dag", "pipeline.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 10_000);
    assert!(stdout.contains("t[a=999,b=9]\n"), "{stderr}");
    let (code, _, stderr) = project.cli(&["run", "pipeline.toml", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.matches("would run  t[").count(), 10_000);
    assert!(
        !project
            .path("cache/v1/runs")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some()),
        "a dry run ran nothing"
    );
}

#[test]
fn two_thousand_instances_run_then_rerun_from_the_cache() {
    let project = Project::new(&matrix_manifest(
        "max_instances = 2000",
        &[("a", 200), ("b", 10)],
    ));
    let first = project.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.ran().len(), 2_000, "{}", first.stderr);
    let again = project.run(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.hits().len(), 2_000, "{}", again.stderr);
    assert!(again.ran().is_empty());
    let (code, stdout, _) = project.cli(&["status", "pipeline.toml", "--check"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.matches("up to date").count(), 2_000);
}
