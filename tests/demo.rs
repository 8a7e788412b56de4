//! The demo pipeline, reduced to run in about a minute (half the images, fewer epochs), through
//! the real binary: every stage runs, the ensemble answers far above chance while the text-only
//! control stays near it, a second run is a no-op, and a third ensemble member added in the TOML
//! trains only that member before the ensemble and evaluation rerun.

mod common;

use common::{Project, reduced_demo};

const THIRD_MEMBER: &str = r#"
[stage.train_choice2]
kind = "train"
inputs = { data = "@tokens", images = "@pixels" }
model = { embed_dim = 32, depth = 1, num_heads = 4, ffn_dim = 64, patch_size = 16, vocab_size = 2000, max_text_positions = 66 }
image_size = 64
head = "choice"
epochs = 1
augment = false
seed = 9

[stage.predict_choice2]
kind = "predict"
inputs = { model = "@train_choice2", data = "@tokens", images = "@pixels" }
"#;

#[test]
fn demo_runs_then_reruns_nothing_then_trains_only_an_added_member() {
    let project = Project::new(&reduced_demo());
    let first = project.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        first.ran().len(),
        19,
        "every stage runs once: {:?}",
        first.outcomes
    );
    let (ensemble, total) = accuracy(&project, "results/demo-metrics.json");
    let (control, _) = accuracy(&project, "results/demo-control-metrics.json");
    assert!(total >= 30, "the test split was scored: {total} questions");
    // Chance is 25 %. Measured here: ensemble 78 %, control 24 %.
    assert!(
        ensemble >= 0.5,
        "the ensemble learned from the images: {ensemble}"
    );
    assert!(
        control <= 0.45,
        "the text-only control stays near chance: {control}"
    );

    let again = project.run(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.ran().is_empty(),
        "a second run is a no-op: {:?}",
        again.outcomes
    );

    project.edit(
        "members = [\"@predict_a\", \"@predict_b\"]",
        "members = [\"@predict_a\", \"@predict_b\", \"@predict_choice2\"]",
    );
    let text = project.read("pipeline.toml") + THIRD_MEMBER;
    project.write("pipeline.toml", &text);
    let third = project.run(&[]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(
        third.ran(),
        vec![
            "ensemble",
            "evaluate",
            "predict_choice2",
            "publish_metrics",
            "train_choice2"
        ],
        "only the new member and what depends on it: {:?}",
        third.outcomes
    );
}

/// Overall accuracy and question count of a published metrics file.
fn accuracy(project: &Project, path: &str) -> (f64, u64) {
    let metrics: serde_json::Value = serde_json::from_str(&project.read(path)).unwrap();
    let overall = &metrics["overall"];
    (
        overall["accuracy"].as_f64().unwrap(),
        overall["total"].as_u64().unwrap(),
    )
}
