//! The `train` and `predict` stages on a task a tiny model learns in seconds: every image is one
//! solid colour and the answer is its colour (options always in the same order). Training must
//! learn it, the text-only control must not, a killed run must resume from its checkpoint, and
//! `predict` must write the prediction format `ensemble`/`evaluate` read.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::{run_in, write_packed_images, write_tokens};
use pipeline_api::{CancelToken, Progress, SilentProgress, StageError};
use pipeline_formats::predictions::read_folder;

const SIZE: usize = 16;
const COLOURS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 40], [40, 60, 230], [230, 220, 40]];

/// Packed images: image `i` is solid colour `i % 4`.
fn write_images(dir: &Path, count: usize) {
    let pixels: Vec<u8> = (0..count)
        .flat_map(|i| std::iter::repeat_n(COLOURS[i % 4], SIZE * SIZE).flatten())
        .collect();
    write_packed_images(dir, SIZE, &pixels);
}

/// A tokenized split in the `joint` layout: the same question for every image, label = colour.
fn write_split(path: &Path, first: usize, count: usize) {
    let question = vec![vec![0, 5, 6, 7, 2, 1, 1, 1]];
    let padding = vec![vec![0, 0, 0, 0, 0, 1, 1, 1]];
    let rows: Vec<usize> = (first..first + count).collect();
    write_tokens(
        path,
        &rows.iter().map(|i| format!("Q{i}")).collect::<Vec<_>>(),
        &rows
            .iter()
            .map(|i| format!("img_{i}.jpg"))
            .collect::<Vec<_>>(),
        &vec![question; count],
        &vec![padding; count],
        &rows.iter().map(|i| (i % 4) as i32).collect::<Vec<_>>(),
    );
}

struct Fixture {
    _dir: tempfile::TempDir,
    data: PathBuf,
    images: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tokens");
    std::fs::create_dir_all(&data).unwrap();
    write_split(&data.join("train.parquet"), 0, 96);
    write_split(&data.join("val.parquet"), 96, 32);
    let images = dir.path().join("pixels");
    write_images(&images, 128);
    Fixture {
        _dir: dir,
        data,
        images,
    }
}

const TRAIN: &str = r#"
model = { embed_dim = 16, depth = 1, num_heads = 2, ffn_dim = 32, patch_size = 8, vocab_size = 16, max_text_positions = 12 }
image_size = 16
head = "joint"
epochs = 5
batch_size = 16
lr = 3e-3
min_lr = 1e-4
warmup_epochs = 0.2
head_lr_scale = 1.0
augment = false
seed = 3
"#;

/// Cancels the run when `validating` is shown for the `at`-th time.
struct CancelAt {
    cancel: CancelToken,
    at: usize,
    seen: Mutex<usize>,
}

impl Progress for CancelAt {
    fn start(&self, _total: u64, _unit: &str) {}
    fn set_position(&self, _position: u64) {}
    fn advance(&self, _delta: u64) {}
    fn message(&self, text: &str) {
        if text == "validating" {
            let mut seen = self.seen.lock().unwrap();
            *seen += 1;
            if *seen == self.at {
                self.cancel.cancel();
            }
        }
    }
}

/// Keeps the metric points a stage reports (name, step, value).
#[derive(Default)]
struct Metrics(Mutex<Vec<(String, u64, f64)>>);

impl Progress for Metrics {
    fn start(&self, _total: u64, _unit: &str) {}
    fn set_position(&self, _position: u64) {}
    fn advance(&self, _delta: u64) {}
    fn message(&self, _text: &str) {}
    fn metric(&self, name: &str, step: u64, value: f64) {
        self.0.lock().unwrap().push((name.to_string(), step, value));
    }
}

impl Metrics {
    /// The steps at which `name` was reported, in order.
    fn steps(&self, name: &str) -> Vec<u64> {
        let points = self.0.lock().unwrap();
        points.iter().filter(|p| p.0 == name).map(|p| p.1).collect()
    }
}

fn train(f: &Fixture, params: &str, out: &Path) -> String {
    let inputs = [("data", f.data.as_path()), ("images", f.images.as_path())];
    run_in(
        "train",
        params,
        &inputs,
        out,
        &SilentProgress,
        &CancelToken::new(),
    )
    .unwrap()
}

fn epochs(out: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    let metrics: serde_json::Value = serde_json::from_str(&text).unwrap();
    metrics["epochs"].as_array().unwrap().clone()
}

#[test]
fn learns_from_images_and_not_from_blank_ones() {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    train(&f, TRAIN, out.path());
    let history = epochs(out.path());
    assert_eq!(history.len(), 5);
    let val = history[4]["val_accuracy"].as_f64().unwrap();
    assert!(val >= 0.9, "val accuracy {val} after 3 epochs: {history:?}");
    assert!(
        !out.path().join("checkpoints").exists(),
        "checkpoints are removed at the end"
    );
    let png = std::fs::read(out.path().join("curves.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    let blank = tempfile::tempdir().unwrap();
    train(&f, &format!("{TRAIN}\nblank_images = true\n"), blank.path());
    let val = epochs(blank.path())[4]["val_accuracy"].as_f64().unwrap();
    assert!(
        val <= 0.4,
        "with blank images only the text is left, which says nothing: {val}"
    );
}

/// Recomputing activations in the backward pass changes memory, not the mathematics: the same
/// seed trains the same model, epoch by epoch.
#[test]
fn recomputing_activations_trains_the_same_model() {
    let f = fixture();
    let params = TRAIN.replace("epochs = 5", "epochs = 2");
    let (kept, recomputed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    train(&f, &params, kept.path());
    train(
        &f,
        &format!("{params}\nrecompute_activations = true\n"),
        recomputed.path(),
    );
    for (a, b) in epochs(kept.path()).iter().zip(&epochs(recomputed.path())) {
        for key in ["train_loss", "val_loss"] {
            let (x, y) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                "{key}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn a_killed_run_resumes_from_its_last_checkpoint() {
    let f = fixture();
    let inputs = [("data", f.data.as_path()), ("images", f.images.as_path())];
    let out = tempfile::tempdir().unwrap();
    let cancel = CancelToken::new();
    let progress = CancelAt {
        cancel: cancel.clone(),
        at: 2,
        seen: Mutex::new(0),
    };
    let err = run_in("train", TRAIN, &inputs, out.path(), &progress, &cancel).unwrap_err();
    assert!(matches!(err, StageError::Cancelled), "{err}");
    assert!(out.path().join("checkpoints/epoch-1/state.json").is_file());
    assert!(
        !out.path().join("model.bpk").exists(),
        "nothing that looks finished"
    );
    let first = epochs(out.path());
    assert_eq!(first.len(), 1);

    let metrics = Metrics::default();
    let log = run_in(
        "train",
        TRAIN,
        &inputs,
        out.path(),
        &metrics,
        &CancelToken::new(),
    )
    .unwrap();
    assert!(log.contains("resuming after epoch 1"), "{log}");
    // Its metrics (what `pipeline ui` charts) hold the whole training, the resumed epoch's too.
    assert_eq!(metrics.steps("loss/train"), (1..=30).collect::<Vec<_>>());
    assert_eq!(
        metrics.steps("accuracy/train"),
        (1..=30).collect::<Vec<_>>()
    );
    assert_eq!(metrics.steps("accuracy/validation"), [6, 12, 18, 24, 30]);
    assert_eq!(metrics.steps("loss/validation"), [6, 12, 18, 24, 30]);
    assert!(
        !log.contains("epoch 1/5:"),
        "epoch 1 is not trained again: {log}"
    );
    let resumed = epochs(out.path());
    assert_eq!(resumed.len(), 5);
    assert_eq!(resumed[0], first[0], "the first epoch's record is kept");
    let steps = std::fs::read_to_string(out.path().join("steps.csv")).unwrap();
    assert_eq!(
        steps.lines().count(),
        1 + 5 * 6,
        "one row per optimizer step, header included"
    );
}

#[test]
fn predict_writes_the_prediction_format() {
    let f = fixture();
    let model = tempfile::tempdir().unwrap();
    train(&f, TRAIN, model.path());
    let out = tempfile::tempdir().unwrap();
    let inputs = [
        ("model", model.path()),
        ("data", f.data.as_path()),
        ("images", f.images.as_path()),
    ];
    let log = run_in(
        "predict",
        "split = \"val\"\nbatch_size = 5",
        &inputs,
        out.path(),
        &SilentProgress,
        &CancelToken::new(),
    )
    .unwrap();
    assert!(log.contains("val: accuracy"), "{log}");
    let folder = read_folder(out.path()).unwrap();
    let p = &folder.predictions;
    assert_eq!(p.len(), 32);
    assert_eq!(p.ids[0], "Q96");
    let correct = (0..32)
        .filter(|&i| p.pred[i] as usize == (96 + i) % 4)
        .count();
    assert!(correct >= 29, "{correct}/32 correct");
    for row in &p.probs {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    let params = folder.meta.params;
    assert!(
        params > 1000,
        "meta.json counts the model's parameters: {params}"
    );
}

#[test]
fn a_head_that_does_not_match_the_layout_is_refused() {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    let inputs = [("data", f.data.as_path()), ("images", f.images.as_path())];
    let params = TRAIN.replace("head = \"joint\"", "head = \"choice\"");
    let err = run_in(
        "train",
        &params,
        &inputs,
        out.path(),
        &SilentProgress,
        &CancelToken::new(),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("train.parquet") && message.contains("joint"),
        "{message}"
    );
}
