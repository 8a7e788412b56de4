//! Fine-tuning checkpoints as the reference's `utils.save_model` writes them (`model`,
//! `optimizer` with integer keys and tensors, `epoch`, `scaler`, `args`), and a bare state dict,
//! load and give the reference's logits for a joint (4-way) and a choice (1-output) head.

mod common;

use beit3::{HeadTask, LoadOptions, VqaConfig, load_vqa};
use common::*;

const CASE: &str = "training_checkpoint";

fn config(task: HeadTask) -> VqaConfig {
    VqaConfig {
        task,
        ..common::config(CASE)
    }
}

/// Loads `file`, runs the case's inputs for `head` and compares the logits.
fn check(file: &str, task: HeadTask, head: &str) -> beit3::LoadReport {
    let device = Default::default();
    let path = fixtures().join(CASE).join(file);
    let (model, report) = load_vqa::<B>(&config(task), &path, &LoadOptions::default(), &device)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let inputs = read(CASE, "inputs.safetensors");
    let image = float::<B, 4>(&inputs["image"], &device);
    let image = match task {
        // Each question's image, once per option.
        HeadTask::Choice => image.repeat_dim(1, 4).reshape([12, 3, 32, 32]),
        _ => image,
    };
    let logits = model.forward(
        image,
        int(&inputs[&format!("{head}_question")], &device),
        padding(&inputs[&format!("{head}_padding_mask")], &device),
    );
    let outputs = read(CASE, "outputs.safetensors");
    assert_close(file, logits, &outputs[&format!("{head}_logits")], 1e-4);
    report
}

#[test]
fn a_joint_head_training_checkpoint_gives_the_reference_logits() {
    let report = check("joint.pth", HeadTask::Joint, "joint");
    assert_eq!(
        report.kept,
        Vec::<String>::new(),
        "every tensor came from the file"
    );
    assert_eq!(
        report.skipped_entries,
        ["optimizer", "epoch", "scaler", "args"],
        "the entries beside `model` are named, not read"
    );
}

#[test]
fn a_choice_head_training_checkpoint_gives_the_reference_logits() {
    let report = check("choice.pth", HeadTask::Choice, "choice");
    assert!(
        report.kept.is_empty() && report.unused.is_empty(),
        "{report:?}"
    );
}

#[test]
fn a_bare_state_dict_loads_without_a_model_key() {
    let report = check("choice_bare.pth", HeadTask::Choice, "choice");
    assert!(report.skipped_entries.is_empty());
}

#[test]
fn a_file_without_weights_names_its_top_level_keys() {
    let path = fixtures().join(CASE).join("joint.pth");
    let options = LoadOptions {
        top_level_key: Some("state_dict".into()),
        allow_missing: false,
    };
    let device = Default::default();
    let err = load_vqa::<B>(&config(HeadTask::Joint), &path, &options, &device)
        .expect_err("no `state_dict` entry")
        .to_string();
    for wanted in ["state_dict", "\"model\"", "\"optimizer\"", "joint.pth"] {
        assert!(err.contains(wanted), "{wanted} not in: {err}");
    }
}
