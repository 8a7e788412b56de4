//! The demo pipeline, reduced to run in seconds (fewer images, one epoch), through the real
//! binary: every stage runs and writes its outputs, a second run is a no-op, and a third ensemble
//! member added in the TOML trains only that member before the ensemble and evaluation rerun.

mod common;

use common::Project;

/// `pipelines/demo.toml` with the project root at the manifest's folder and a smaller workload.
fn reduced_demo() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/demo.toml"))
        .unwrap();
    let edits = [
        ("root = \"..\"", "root = \".\""),
        ("images = 600", "images = 60"),
        ("epochs = 6", "epochs = 1"),
    ];
    let mut text = text;
    for (from, to) in edits {
        assert!(text.contains(from), "demo.toml has no `{from}`");
        text = text.replace(from, to);
    }
    text
}

const THIRD_MEMBER: &str = r#"
[stage.train_choice2]
kind = "train"
inputs = { data = "@tokens[layout=choice]", images = "@pixels" }
model = { embed_dim = 32, depth = 1, num_heads = 4, ffn_dim = 64, patch_size = 16, vocab_size = 2000, max_text_positions = 66 }
image_size = 64
head = "choice"
epochs = 1
augment = false
seed = 9

[stage.predict_choice2]
kind = "predict"
inputs = { model = "@train_choice2", data = "@tokens[layout=choice]", images = "@pixels" }
"#;

#[test]
fn demo_runs_then_reruns_nothing_then_trains_only_an_added_member() {
    let project = Project::new(&reduced_demo());
    let first = project.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        first.ran().len(),
        12,
        "every stage runs once: {:?}",
        first.outcomes
    );
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(find(&project, "metrics.json", "overall")).unwrap(),
    )
    .unwrap();
    let total = metrics["overall"]["total"].as_u64().unwrap();
    assert!(total > 0, "the test split was scored: {metrics}");

    let again = project.run(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.ran().is_empty(),
        "a second run is a no-op: {:?}",
        again.outcomes
    );

    project.edit(
        "members = [\"@predict_choice\", \"@predict_joint\"]",
        "members = [\"@predict_choice\", \"@predict_joint\", \"@predict_choice2\"]",
    );
    let text = project.read("pipeline.toml") + THIRD_MEMBER;
    project.write("pipeline.toml", &text);
    let third = project.run(&[]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(
        third.ran(),
        vec!["ensemble", "evaluate", "predict_choice2", "train_choice2"],
        "only the new member and what depends on it: {:?}",
        third.outcomes
    );
}

/// The newest file named `name` under the project's cache whose text contains `needle`.
fn find(project: &Project, name: &str, needle: &str) -> std::path::PathBuf {
    common::files_below(&project.path("cache"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == name))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(needle)))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("no {name} containing {needle}"))
}
