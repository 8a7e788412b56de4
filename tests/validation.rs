//! Manifest errors: all found in one pass, each with file:line:column, the text and a hint.

mod common;

use common::Project;

fn check(manifest: &str) -> String {
    let project = Project::new(manifest);
    project.write("present.txt", "x");
    let (code, _, stderr) = project.cli(&["run", "pipeline.toml"]);
    assert_eq!(code, 2, "invalid manifests exit with 2: {stderr}");
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert!(
        !project
            .path("cache/v1/runs")
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    );
    stderr
}

#[test]
fn every_error_is_reported_in_one_pass_with_its_position() {
    let manifest = r#"[stage.a]
kind = "exce"
cmd = ["true"]

[stage.b]
kind = "exec"
cmd = ["true"]
outptus = ["x"]

[stage.c]
kind = "exec"
cmd = "true"

[stage.d]
kind = "exec"
cmd = ["true"]
inputs = { m = "missing.txt", s = "@nosuch/x", o = "@e/y" }

[stage.e]
kind = "exec"
cmd = ["true"]
outputs = ["x"]
"#;
    let stderr = check(manifest);
    assert!(stderr.contains("unknown stage kind `exce`"), "{stderr}");
    assert!(
        stderr.contains("pipeline.toml:2:8") && stderr.contains("did you mean `exec`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown parameter `outptus` for stage kind `exec`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pipeline.toml:8:1") && stderr.contains("did you mean `outputs`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("valid keys for `exec`: cmd, env, outputs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("parameter `cmd`: invalid type: string \"true\", expected a sequence"),
        "{stderr}"
    );
    assert!(stderr.contains("pipeline.toml:12:7"), "{stderr}");
    assert!(
        stderr.contains("input file `missing.txt` does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`@nosuch/x` refers to no stage"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stage `e` declares no output `y`"),
        "{stderr}"
    );
    assert!(stderr.contains("6 errors in the manifest"), "{stderr}");
}

#[test]
fn a_cycle_is_printed() {
    let manifest = r#"[stage.a]
kind = "exec"
cmd = ["true"]
inputs = { x = "@c" }

[stage.b]
kind = "exec"
cmd = ["true"]
inputs = { x = "@a" }

[stage.c]
kind = "exec"
cmd = ["true"]
inputs = { x = "@b" }
"#;
    let stderr = check(manifest);
    assert!(
        stderr.contains("the stages form a cycle: a -> b -> c -> a"),
        "{stderr}"
    );
    assert!(stderr.contains("pipeline.toml:1:8"), "{stderr}");
}

#[test]
fn duplicate_names_are_refused() {
    let manifest = "[stage.a]\nkind = \"exec\"\ncmd = [\"true\"]\n\n[stage.a]\nkind = \"exec\"\ncmd = [\"true\"]\n";
    let stderr = check(manifest);
    assert!(
        stderr.contains("invalid TOML") && stderr.contains("duplicate"),
        "{stderr}"
    );
    assert!(stderr.contains("pipeline.toml:5:"), "{stderr}");
    let matrix = "[stage.a]\nkind = \"exec\"\nmatrix = { seed = [1, 1] }\ncmd = [\"true\"]\n";
    let stderr = check(matrix);
    assert!(stderr.contains("duplicate matrix value `1`"), "{stderr}");
}

#[test]
fn variables_and_publish_paths_are_checked() {
    let manifest = r#"[vars]
seed = 1

[stage.a]
kind = "exec"
cmd = ["echo", "${vars.sede}"]

[stage.p]
kind = "publish"
inputs = { f = "present.txt" }
path = "../outside.txt"
"#;
    let stderr = check(manifest);
    assert!(stderr.contains("unknown variable `vars.sede`"), "{stderr}");
    assert!(
        stderr.contains("parameter `path`: `../outside.txt` climbs out with `..`"),
        "{stderr}"
    );
}

#[test]
fn stages_lists_kinds_and_parameters() {
    let project = Project::new("");
    let (code, out, _) = project.cli(&["stages", "exec"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("exec (version 1)")
            && out.contains("cmd: array (required)")
            && out.contains("outputs: array = []"),
        "{out}"
    );
    let (code, _, err) = project.cli(&["stages", "nope"]);
    assert_eq!(code, 2, "{err}");
}

/// The key of a fixed stage over fixed bytes. If this fails, every user's cache is invalidated:
/// change it only together with `KEY_SCHEMA` or a stage's VERSION, on purpose.
#[test]
fn golden_cache_key() {
    let manifest = r#"[stage.fixed]
kind = "exec"
inputs = { data = "data.txt" }
cmd = ["sh", "-c", "cp \"$PIPELINE_INPUT_DATA\" \"$PIPELINE_OUT/copy.txt\""]
outputs = ["copy.txt"]
"#;
    let project = Project::new(manifest);
    project.write("data.txt", "golden bytes\n");
    let (code, out, err) = project.cli(&["explain", "pipeline.toml", "fixed", "--json"]);
    assert_eq!(code, 0, "{err}");
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        value["manifest"]["inputs"]["data"][0],
        blake3::hash(b"golden bytes\n").to_hex().as_str()
    );
    assert_eq!(
        value["key"],
        "592695611b81777365e767cc65e09357d9a8cbe2c50862cef2181ca995b1def5"
    );
}

#[test]
#[cfg(feature = "ml")] // the `train` and `predict` kinds
fn a_misspelled_nested_key_is_pointed_at_with_its_table_keys() {
    let manifest = r#"[stage.predict]
kind = "predict"
architecture = { model = { embed_dim = 32, layers = 3, num_heads = 4, ffn_dim = 64 }, image_size = 32, head = "joint" }

[stage.train]
kind = "train"
image_size = 32
head = "joint"

[stage.train.model]
embed_dim = 32
dpeth = 2
num_heads = 4
ffn_dim = 64
"#;
    let stderr = check(manifest);
    let dims = "depth, embed_dim, ffn_dim, max_text_positions, num_heads, patch_size, vocab_size";
    assert!(
        stderr.contains("stage `predict`: unknown key `layers` in `architecture.model`"),
        "{stderr}"
    );
    assert!(stderr.contains("pipeline.toml:3:44"), "{stderr}");
    assert!(
        stderr.contains(&format!("valid keys of `architecture.model`: {dims}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("stage `train`: unknown key `dpeth` in `model`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pipeline.toml:12:1")
            && stderr.contains(&format!(
                "did you mean `depth`? valid keys of `model`: {dims}"
            )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("unknown parameter"),
        "nested keys are not top-level parameters: {stderr}"
    );
    assert!(stderr.contains("2 errors in the manifest"), "{stderr}");
}

#[test]
#[cfg(feature = "ml")] // the `train` and `predict` kinds
fn stages_shows_nested_forms_with_reference_names() {
    let project = Project::new("");
    for kind in ["predict", "train"] {
        let (code, out, err) = project.cli(&["stages", kind]);
        assert_eq!(code, 0, "{err}");
        for field in [
            "embed_dim",
            "depth",
            "num_heads",
            "ffn_dim",
            "patch_size",
            "vocab_size",
            "max_text_positions",
        ] {
            assert!(
                out.contains(&format!("{field}: integer")),
                "`stages {kind}` lacks `{field}`:\n{out}"
            );
        }
        for reference in [
            "encoder_embed_dim",
            "encoder_layers",
            "encoder_attention_heads",
            "encoder_ffn_embed_dim",
            "max_source_positions",
        ] {
            assert!(
                out.contains(reference),
                "`stages {kind}` does not name `{reference}`:\n{out}"
            );
        }
        assert!(
            out.contains("\"base\": ") && out.contains("\"large\": "),
            "{out}"
        );
    }
}

/// Mistakes that used to surface only when the stage ran, after its upstream stages had run.
#[test]
fn placeholders_and_publish_inputs_are_checked_before_anything_runs() {
    let manifest = r#"[stage.first]
kind = "exec"
cmd = ["sh", "-c", "touch ran.txt; echo x > \"$PIPELINE_OUT/x.txt\""]
outputs = ["x.txt"]

[stage.a]
kind = "exec"
inputs = { x = "@first/x.txt" }
cmd = ["cat", "${foo}"]

[stage.b]
kind = "exec"
inputs = { data = "@first/x.txt" }
cmd = ["cat", "${inputs.dta}"]

[stage.p]
kind = "publish"
inputs = { f = "@first/x.txt", g = "present.txt" }
path = "results/x.txt"
"#;
    let stderr = check(manifest);
    assert!(
        stderr.contains("unknown placeholder `${foo}`") && stderr.contains("pipeline.toml:9:15"),
        "{stderr}"
    );
    assert!(stderr.contains("`exec` fills in `${out}`"), "{stderr}");
    assert!(
        stderr.contains("`${inputs.dta}` names no input of this stage")
            && stderr.contains("pipeline.toml:14:15"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `${inputs.data}`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`publish` takes exactly one input path; this stage binds 2")
            && stderr.contains("pipeline.toml:18:10"),
        "{stderr}"
    );
    assert!(stderr.contains("3 errors in the manifest"), "{stderr}");
    let project = Project::new(manifest);
    project.write("present.txt", "x");
    for args in [
        ["run", "pipeline.toml", "--dry-run"],
        ["status", "pipeline.toml", "--check"],
    ] {
        let (code, _, stderr) = project.cli(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("pipeline.toml:9:15"), "{stderr}");
    }
    assert!(!project.path("ran.txt").exists(), "no stage may run");
}

#[test]
fn engine_keys_of_the_wrong_type_are_refused() {
    let manifest = r#"[stage.a]
kind = "exec"
cmd = ["true"]
resources = 4
desc = 5
always_run = "yes"

[stage.b]
kind = "exec"
cmd = ["true"]
inputs = 3

[stage.c]
kind = "exec"
cmd = ["true"]
matrix = [1]
"#;
    let stderr = check(manifest);
    assert!(
        stderr.contains("`resources` must be a table, not an integer")
            && stderr.contains("pipeline.toml:4:13"),
        "{stderr}"
    );
    assert!(
        stderr.contains("resources = { cpus = 4, gpu = 1 }"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`desc` must be a string, not an integer")
            && stderr.contains("pipeline.toml:5:8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`always_run` must be true or false")
            && stderr.contains("pipeline.toml:6:14"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`inputs` must be a table") && stderr.contains("pipeline.toml:11:10"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`matrix` must be a table of arrays")
            && stderr.contains("pipeline.toml:16:10"),
        "{stderr}"
    );
    assert!(stderr.contains("5 errors in the manifest"), "{stderr}");
}

const OUTSIDE: &str = r#"[stage.read]
kind = "exec"
inputs = { up = "../outside/o.txt", abs = "ABS", link = "linked/o.txt", inside = "present.txt" }
cmd = ["sh", "-c", "cat ${inputs.up} ${inputs.abs} ${inputs.link} | tee got.txt > \"$PIPELINE_OUT/out.txt\""]
outputs = ["out.txt"]
"#;

/// A project at `<tmp>/project` whose manifest reads `<tmp>/outside/o.txt` three ways.
fn outside_project(settings: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (project, outside) = (dir.path().join("project"), dir.path().join("outside"));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("o.txt"), "outside\n").unwrap();
    std::fs::write(project.join("present.txt"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, project.join("linked")).unwrap();
    let manifest = OUTSIDE.replace("ABS", &outside.join("o.txt").display().to_string());
    std::fs::write(
        project.join("pipeline.toml"),
        format!("{settings}{manifest}"),
    )
    .unwrap();
    (dir, project)
}

fn run_in(project: &std::path::Path) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(["run", "pipeline.toml"])
        .current_dir(project)
        .env("PIPELINE_CACHE_DIR", project.join("cache"))
        .env("CI", "1")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn inputs_outside_the_root_need_an_external_folder() {
    let (_dir, project) = outside_project("");
    let (code, stderr) = run_in(&project);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("input `../outside/o.txt` is outside the project root")
            && stderr.contains("pipeline.toml:3:17"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/outside/o.txt` is outside the project root")
            && stderr.contains("pipeline.toml:3:43"),
        "{stderr}"
    );
    assert!(
        stderr.contains("input `linked/o.txt` is outside the project root")
            && stderr.contains("through a symlink"),
        "{stderr}"
    );
    assert!(
        stderr.contains("under [pipeline]: external = ["),
        "{stderr}"
    );
    assert!(stderr.contains("3 errors in the manifest"), "{stderr}");
    assert!(!project.join("cache/v1/runs").exists(), "nothing ran");

    let (_dir, project) = outside_project("[pipeline]\nexternal = [\"../outside\"]\n\n");
    let (code, stderr) = run_in(&project);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(project.join("got.txt")).unwrap(),
        "outside\n".repeat(3),
        "the stage read all three"
    );
}
