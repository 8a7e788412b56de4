//! `pad_to_multiple` lengthens each batch's text with masked `<pad>` tokens so that the whole
//! sequence is a multiple of it: the model's outputs stay the same up to the order of float sums,
//! and a padded length beyond the model's text positions is refused, naming the parameter. Also:
//! reading the step figures from the device every `log_every` steps changes no figure, nor does
//! training beside other trainings in the same process.

mod common;

use std::path::{Path, PathBuf};

use beit3::VqaModel;
use burn_ndarray::NdArray;
use common::{run_in, write_packed_images, write_tokens};
use pipeline_api::{CancelToken, SilentProgress};
use pipeline_formats::PackedImages;
use pipeline_stages_vqa::architecture::{CustomDims, Head, ModelSpec, vqa_config};
use pipeline_stages_vqa::batches::{BatchMaker, ImageMode};
use pipeline_stages_vqa::forward::{DeviceBatch, option_logits};
use pipeline_stages_vqa::tokenized_split::TokenizedSplit;

const SIZE: usize = 16;

/// Image `i` is a gradient shifted by `i`.
fn write_images(dir: &Path, count: usize) {
    let pixels: Vec<u8> = (0..count * SIZE * SIZE * 3)
        .map(|i| ((i * 7 + i / 97) % 251) as u8)
        .collect();
    write_packed_images(dir, SIZE, &pixels);
}

/// Question `i` of the `choice` layout: four sequences of 3 to 8 tokens, padded to 8.
fn sequences(i: usize) -> (Vec<Vec<i32>>, Vec<Vec<i32>>) {
    (0..4)
        .map(|option| {
            let len = 3 + (i + option) % 6;
            let ids = (0..8)
                .map(|t| match t {
                    0 => 0,
                    t if t + 1 == len => 2,
                    t if t < len => (4 + (i * 3 + option + t) % 12) as i32,
                    _ => 1,
                })
                .collect();
            let pads = (0..8).map(|t| i32::from(t >= len)).collect();
            (ids, pads)
        })
        .unzip()
}

fn write_split(path: &Path, first: usize, count: usize) {
    let rows: Vec<usize> = (first..first + count).collect();
    let (ids, pads): (Vec<_>, Vec<_>) = rows.iter().map(|&i| sequences(i)).unzip();
    write_tokens(
        path,
        &rows.iter().map(|i| format!("Q{i}")).collect::<Vec<_>>(),
        &rows
            .iter()
            .map(|i| format!("img_{i}.jpg"))
            .collect::<Vec<_>>(),
        &ids,
        &pads,
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
    write_split(&data.join("train.parquet"), 0, 32);
    write_split(&data.join("val.parquet"), 32, 16);
    let images = dir.path().join("pixels");
    write_images(&images, 48);
    Fixture {
        _dir: dir,
        data,
        images,
    }
}

/// 5 vision tokens (CLS + 2x2 patches); 64 text positions allow 62 tokens, room for 5 + 59 = 64.
fn dims(max_text_positions: usize) -> CustomDims {
    CustomDims {
        embed_dim: 16,
        depth: 2,
        num_heads: 2,
        ffn_dim: 32,
        patch_size: 8,
        vocab_size: 16,
        max_text_positions,
    }
}

const TRAIN: &str = r#"
model = { embed_dim = 16, depth = 2, num_heads = 2, ffn_dim = 32, patch_size = 8, vocab_size = 16, max_text_positions = 64 }
image_size = 16
head = "choice"
epochs = 2
batch_size = 4
accumulate = 2
lr = 3e-3
min_lr = 1e-4
warmup_epochs = 0.5
head_lr_scale = 1.0
clip_grad = 0.5
augment = false
seed = 5
"#;

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The option logits of every validation question, with the text padded to `multiple`.
fn logits(f: &Fixture, model: &VqaModel<NdArray>, multiple: usize) -> (Vec<f32>, Vec<usize>) {
    let config = vqa_config(&ModelSpec::Custom(dims(64)), SIZE, Head::Choice, 0.0).unwrap();
    let examples = pipeline_stages_vqa::tokenized_split::read(&f.data.join("val.parquet")).unwrap();
    let images = PackedImages::open(&f.images).unwrap();
    let maker = BatchMaker::new(&examples, &images, SIZE, ImageMode::Plain, 0)
        .unwrap()
        .pad_to_multiple(multiple, &config.encoder)
        .unwrap();
    let (mut values, mut lengths) = (Vec::new(), Vec::new());
    let rest = std::iter::once(3).chain(6..16).collect();
    for rows in [vec![0, 1, 2], vec![4], vec![5], rest] {
        let host = maker.make(&rows, 0);
        lengths.push(5 + host.len);
        let batch = DeviceBatch::<NdArray>::new(host, &Default::default());
        let out = option_logits(model, &batch).into_data();
        values.extend(out.to_vec::<f32>().unwrap());
    }
    (values, lengths)
}

#[test]
fn padding_to_a_multiple_leaves_the_logits_unchanged() {
    let f = fixture();
    let config = vqa_config(&ModelSpec::Custom(dims(64)), SIZE, Head::Choice, 0.0).unwrap();
    let model = VqaModel::<NdArray>::new(&config, &Default::default()).unwrap();
    let (plain, plain_lengths) = logits(&f, &model, 1);
    let (padded, padded_lengths) = logits(&f, &model, 64);
    assert_eq!(
        plain_lengths,
        [13, 11, 12, 13],
        "cut to the longest question"
    );
    assert_eq!(padded_lengths, [64; 4]);
    let (plain16, lengths16) = logits(&f, &model, 16);
    assert_eq!(lengths16, [16; 4]);
    let diff = max_abs_diff(&plain, &padded).max(max_abs_diff(&plain, &plain16));
    println!("largest logit difference, padded to 64 or 16 vs cut: {diff:e}");
    assert!(diff <= 1e-5, "padding changed the logits by {diff}");
    assert!(plain.iter().any(|v| v.abs() > 1e-3), "logits are not all 0");
}

fn metrics(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn train(f: &Fixture, params: &str) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    let inputs = [("data", f.data.as_path()), ("images", f.images.as_path())];
    let cancel = CancelToken::new();
    run_in(
        "train",
        params,
        &inputs,
        out.path(),
        &SilentProgress,
        &cancel,
    )
    .unwrap();
    metrics(out.path())
}

/// The figures of each step and epoch that do not measure time.
fn figures(metrics: &serde_json::Value) -> Vec<f64> {
    let keys = [
        ("steps", &["loss", "accuracy", "grad_norm", "lr"][..]),
        (
            "epochs",
            &["train_loss", "train_accuracy", "val_loss", "val_accuracy"][..],
        ),
    ];
    let mut all = Vec::new();
    for (table, fields) in keys {
        for row in metrics[table].as_array().unwrap() {
            all.extend(fields.iter().map(|k| row[*k].as_f64().unwrap()));
        }
    }
    all
}

#[test]
fn training_with_padded_text_gives_the_same_figures() {
    let f = fixture();
    let plain = figures(&train(&f, TRAIN));
    let padded = figures(&train(&f, &format!("{TRAIN}\npad_to_multiple = 64\n")));
    let diff = plain
        .iter()
        .zip(&padded)
        .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
        .fold(0.0, f64::max);
    println!("largest relative difference of the training figures, padded to 64 vs cut: {diff:e}");
    assert_eq!(plain.len(), padded.len());
    assert!(diff <= 1e-4, "{plain:?}\nvs\n{padded:?}");
}

/// The figures are read from the device every `log_every` steps, at the end of each epoch and
/// before each checkpoint: how often changes none of them.
#[test]
fn reading_the_step_figures_in_batches_changes_none() {
    let f = fixture();
    let every = |n: usize| train(&f, &format!("{TRAIN}\nlog_every = {n}\n"));
    let (one, three) = (every(1), every(3));
    let default = train(&f, TRAIN);
    let steps = default["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2 * 4);
    assert!(
        steps.iter().any(|s| s["grad_norm"].as_f64().unwrap() > 0.5),
        "clip_grad = 0.5 clips some step: {steps:?}"
    );
    assert_eq!(figures(&one), figures(&default));
    assert_eq!(figures(&three), figures(&default));
}

#[test]
fn a_padded_length_beyond_the_text_positions_is_refused() {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    let inputs = [("data", f.data.as_path()), ("images", f.images.as_path())];
    let params = TRAIN.replace("max_text_positions = 64", "max_text_positions = 12");
    let params = format!("{params}\npad_to_multiple = 64\n");
    let cancel = CancelToken::new();
    let err = run_in(
        "train",
        &params,
        &inputs,
        out.path(),
        &SilentProgress,
        &cancel,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("pad_to_multiple = 64") && message.contains("allows 10"),
        "{message}"
    );
    // 5 + 8 = 13 tokens padded to 16 leaves 11 for the text: one more than 12 positions allow.
    let config = vqa_config(&ModelSpec::Custom(dims(12)), SIZE, Head::Choice, 0.0).unwrap();
    let examples: TokenizedSplit =
        pipeline_stages_vqa::tokenized_split::read(&f.data.join("val.parquet")).unwrap();
    let images = PackedImages::open(&f.images).unwrap();
    let maker = || BatchMaker::new(&examples, &images, SIZE, ImageMode::Plain, 0).unwrap();
    let err = maker().pad_to_multiple(16, &config.encoder).err().unwrap();
    assert!(err.to_string().contains("pad_to_multiple = 16"), "{err}");
    assert!(maker().pad_to_multiple(13, &config.encoder).is_ok());
}

/// Stages train at once in one process (ensemble members): each must get the figures it gets
/// alone. Without `beit3::graph_lock`, a backward pass freed parts of the other trainings'
/// autodiff graphs and their gradient norms moved by percents.
#[test]
fn trainings_running_at_once_give_the_figures_of_one_alone() {
    let f = fixture();
    let alone = figures(&train(&f, TRAIN));
    let together: Vec<Vec<f64>> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| figures(&train(&f, TRAIN))))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    for figures in together {
        let diff = alone
            .iter()
            .zip(&figures)
            .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
            .fold(0.0, f64::max);
        assert!(diff <= 1e-5, "{alone:?}\nvs\n{figures:?}");
    }
}
