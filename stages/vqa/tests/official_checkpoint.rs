//! Checkpoints of the reference's own fine-tuning (`model`, `optimizer`, `epoch`, `scaler`,
//! `args`; fp16 weights) through the stages: `predict` gives the reference's probabilities for a
//! joint and a choice head, and `train` starts from one, using its weights only.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{run_in, write_packed_images, write_tokens};
use pipeline_api::{CancelToken, SilentProgress};
use pipeline_formats::predictions::read_folder;
use safetensors::SafeTensors;

const QUESTIONS: usize = 3;
const SIZE: usize = 32;
/// The fixture model's sizes (tests/fixtures/beit3/training_checkpoint/config.json).
const DIMS: &str = "{ embed_dim = 32, depth = 2, num_heads = 4, ffn_dim = 80, patch_size = 8, \
                    vocab_size = 67, max_text_positions = 20 }";

fn fixture(file: &str) -> PathBuf {
    std::env::var_os("BEIT3_FIXTURES")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/beit3"),
            PathBuf::from,
        )
        .join("training_checkpoint")
        .join(file)
}

/// The tensors of a fixture file as raw little-endian bytes, with their shapes.
fn tensors(file: &str) -> HashMap<String, (Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| (name, (view.shape().to_vec(), view.data().to_vec())))
        .collect()
}

fn ints(raw: &(Vec<usize>, Vec<u8>)) -> Vec<i32> {
    raw.1
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as i32)
        .collect()
}

fn floats(raw: &(Vec<usize>, Vec<u8>)) -> Vec<f32> {
    raw.1
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The fixture's images and its questions in `head`'s layout, as `images` and `tokenize` write
/// them.
struct Inputs {
    _dir: tempfile::TempDir,
    images: PathBuf,
    data: PathBuf,
}

fn inputs(head: &str) -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let raw = tensors("inputs.safetensors");
    let images = dir.path().join("pixels");
    write_packed_images(&images, SIZE, &raw["pixels"].1);
    let (question, padding) = (
        &raw[&format!("{head}_question")],
        &raw[&format!("{head}_padding_mask")],
    );
    let per_question = question.0[0] / QUESTIONS;
    let width = question.0[1];
    let rows = |values: Vec<i32>| -> Vec<Vec<Vec<i32>>> {
        let sequences: Vec<Vec<i32>> = values.chunks(width).map(<[i32]>::to_vec).collect();
        sequences.chunks(per_question).map(<[_]>::to_vec).collect()
    };
    let data = dir.path().join("tokens");
    std::fs::create_dir_all(&data).unwrap();
    let ids: Vec<String> = (0..QUESTIONS).map(|q| format!("TEST_{q:03}")).collect();
    let paths: Vec<String> = (0..QUESTIONS).map(|q| format!("img_{q}.jpg")).collect();
    write_tokens(
        &data.join("test.parquet"),
        &ids,
        &paths,
        &rows(ints(question)),
        &rows(ints(padding)),
        &[0, 1, 2],
    );
    Inputs {
        _dir: dir,
        images,
        data,
    }
}

fn run(kind: &str, params: &str, inputs: &[(&str, &Path)], out: &Path) -> String {
    run_in(
        kind,
        params,
        inputs,
        out,
        &SilentProgress,
        &CancelToken::new(),
    )
    .unwrap_or_else(|e| panic!("{kind}: {e}"))
}

/// Predicts the fixture's questions with `file` and compares the probabilities.
fn predicts_like_the_reference(file: &str, head: &str) {
    let data = inputs(head);
    let out = tempfile::tempdir().unwrap();
    let checkpoint = fixture(file);
    let params = format!(
        "architecture = {{ model = {DIMS}, image_size = {SIZE}, head = \"{head}\" }}\nbatch_size = 2"
    );
    let bound = [
        ("model", checkpoint.as_path()),
        ("data", data.data.as_path()),
        ("images", data.images.as_path()),
    ];
    run("predict", &params, &bound, out.path());
    let folder = read_folder(out.path()).unwrap();
    let expected = floats(&tensors("outputs.safetensors")[&format!("{head}_probs")]);
    let got: Vec<f32> = folder.predictions.probs.iter().flatten().copied().collect();
    assert_eq!(folder.predictions.ids, ["TEST_000", "TEST_001", "TEST_002"]);
    let diff = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert_eq!(got.len(), expected.len());
    assert!(diff <= 1e-4, "{file}: max |diff| {diff:e}");
    eprintln!("{file}: probabilities max |diff| {diff:e}");
}

#[test]
fn predict_reads_a_joint_head_training_checkpoint() {
    predicts_like_the_reference("joint.pth", "joint");
}

#[test]
fn predict_reads_a_choice_head_training_checkpoint() {
    predicts_like_the_reference("choice.pth", "choice");
}

#[test]
fn predict_reads_a_bare_state_dict() {
    predicts_like_the_reference("choice_bare.pth", "choice");
}

#[test]
fn train_starts_from_the_weights_of_a_training_checkpoint() {
    let data = inputs("joint");
    let out = tempfile::tempdir().unwrap();
    let checkpoint = fixture("joint.pth");
    std::fs::copy(
        data.data.join("test.parquet"),
        data.data.join("train.parquet"),
    )
    .unwrap();
    let params = format!(
        "model = {DIMS}\nimage_size = {SIZE}\nhead = \"joint\"\nepochs = 1\nbatch_size = 3\n\
         val_split = \"\"\naugment = false"
    );
    let bound = [
        ("data", data.data.as_path()),
        ("images", data.images.as_path()),
        ("checkpoint", checkpoint.as_path()),
    ];
    let log = run("train", &params, &bound, out.path());
    assert!(log.contains("loaded 97 tensors"), "{log}");
    assert!(
        log.contains("other entries (optimizer, epoch, scaler, args) are not"),
        "the log says what was not used: {log}"
    );
}
