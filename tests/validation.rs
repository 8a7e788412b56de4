//! Manifest errors: all found in one pass, each with file:line:column, the text and a hint.

mod common;

use common::Project;

fn check(manifest: &str) -> String {
    let project = Project::new(manifest);
    project.write("present.txt", "x");
    let (code, _, stderr) = project.cli(&["run", "pipeline.toml"]);
    assert_eq!(code, 2, "invalid manifests exit with 2: {stderr}");
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert!(!project.path("cache/v1/runs").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false));
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
    assert!(stderr.contains("pipeline.toml:2:8") && stderr.contains("did you mean `exec`?"), "{stderr}");
    assert!(stderr.contains("unknown parameter `outptus` for stage kind `exec`"), "{stderr}");
    assert!(stderr.contains("pipeline.toml:8:1") && stderr.contains("did you mean `outputs`?"), "{stderr}");
    assert!(stderr.contains("valid keys for `exec`: cmd, env, outputs"), "{stderr}");
    assert!(stderr.contains("parameter `cmd`: invalid type: string \"true\", expected a sequence"), "{stderr}");
    assert!(stderr.contains("pipeline.toml:12:7"), "{stderr}");
    assert!(stderr.contains("input file `missing.txt` does not exist"), "{stderr}");
    assert!(stderr.contains("`@nosuch/x` refers to no stage"), "{stderr}");
    assert!(stderr.contains("stage `e` declares no output `y`"), "{stderr}");
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
    assert!(stderr.contains("the stages form a cycle: a -> b -> c -> a"), "{stderr}");
    assert!(stderr.contains("pipeline.toml:1:8"), "{stderr}");
}

#[test]
fn duplicate_names_are_refused() {
    let manifest = "[stage.a]\nkind = \"exec\"\ncmd = [\"true\"]\n\n[stage.a]\nkind = \"exec\"\ncmd = [\"true\"]\n";
    let stderr = check(manifest);
    assert!(stderr.contains("invalid TOML") && stderr.contains("duplicate"), "{stderr}");
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
    assert!(stderr.contains("parameter `path`: `../outside.txt` climbs out with `..`"), "{stderr}");
}

#[test]
fn stages_lists_kinds_and_parameters() {
    let project = Project::new("");
    let (code, out, _) = project.cli(&["stages", "exec"]);
    assert_eq!(code, 0);
    assert!(out.contains("exec (version 1)") && out.contains("cmd: array (required)") && out.contains("outputs: array = []"), "{out}");
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
    assert_eq!(value["manifest"]["inputs"]["data"][0], blake3::hash(b"golden bytes\n").to_hex().as_str());
    assert_eq!(value["key"], "592695611b81777365e767cc65e09357d9a8cbe2c50862cef2181ca995b1def5");
}

#[test]
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
    assert!(stderr.contains("stage `predict`: unknown key `layers` in `architecture.model`"), "{stderr}");
    assert!(stderr.contains("pipeline.toml:3:44"), "{stderr}");
    assert!(stderr.contains(&format!("valid keys of `architecture.model`: {dims}")), "{stderr}");
    assert!(stderr.contains("stage `train`: unknown key `dpeth` in `model`"), "{stderr}");
    assert!(stderr.contains("pipeline.toml:12:1") && stderr.contains(&format!("did you mean `depth`? valid keys of `model`: {dims}")), "{stderr}");
    assert!(!stderr.contains("unknown parameter"), "nested keys are not top-level parameters: {stderr}");
    assert!(stderr.contains("2 errors in the manifest"), "{stderr}");
}

#[test]
fn stages_shows_nested_forms_with_reference_names() {
    let project = Project::new("");
    for kind in ["predict", "train"] {
        let (code, out, err) = project.cli(&["stages", kind]);
        assert_eq!(code, 0, "{err}");
        for field in ["embed_dim", "depth", "num_heads", "ffn_dim", "patch_size", "vocab_size", "max_text_positions"] {
            assert!(out.contains(&format!("{field}: integer")), "`stages {kind}` lacks `{field}`:\n{out}");
        }
        for reference in ["encoder_embed_dim", "encoder_layers", "encoder_attention_heads", "encoder_ffn_embed_dim", "max_source_positions"] {
            assert!(out.contains(reference), "`stages {kind}` does not name `{reference}`:\n{out}");
        }
        assert!(out.contains("\"base\": ") && out.contains("\"large\": "), "{out}");
    }
}
