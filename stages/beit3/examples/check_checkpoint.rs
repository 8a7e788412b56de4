//! Loads a full-size checkpoint into a preset model and, given reference inputs and logits,
//! reports the largest logit difference, with load and forward times.
//!
//! ```sh
//! cargo run -p beit3 --example check_checkpoint -- base 480 3129 ckpt.pth [head.safetensors] [io.safetensors]
//! ```
//! `io.safetensors` holds `image` [B,3,S,S] f32, `question` and `padding_mask` [B,T] i64 and
//! `logits` [B,C] f32 (the reference output); `full_size_reference.py` next to this file writes
//! such a set from torchscale with random weights.

use std::path::PathBuf;
use std::time::Instant;

use beit3::{HeadTask, LoadOptions, Preset, VqaConfig, VqaModel, load_checkpoint, param_count};
use burn::backend::NdArray;
use burn::prelude::*;
use safetensors::SafeTensors;

type B = NdArray<f32>;

fn tensor_f32<const D: usize>(st: &SafeTensors, name: &str) -> Tensor<B, D> {
    let v = st.tensor(name).unwrap();
    let data: Vec<f32> = v
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Tensor::from_data(
        TensorData::new(data, v.shape().to_vec()),
        &Default::default(),
    )
}

fn tensor_i64(st: &SafeTensors, name: &str) -> Tensor<B, 2, Int> {
    let v = st.tensor(name).unwrap();
    let data: Vec<i64> = v
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Tensor::from_data(
        TensorData::new(data, v.shape().to_vec()),
        &Default::default(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    assert!(
        args.len() >= 4,
        "usage: PRESET IMG_SIZE CLASSES CHECKPOINT [HEAD] [IO]"
    );
    let preset: Preset =
        serde_json::from_str(&format!("\"{}\"", args[0])).expect("preset: base or large");
    let num_classes = args[2].parse().unwrap();
    let config = VqaConfig {
        encoder: preset.config(args[1].parse().unwrap()),
        task: HeadTask::Vqa { num_classes },
    };
    let mut model = VqaModel::<B>::new(&config, &Default::default()).unwrap();
    println!("parameters: {}", param_count::<B, _>(&model));
    let start = Instant::now();
    let report = load_checkpoint(
        &mut model,
        &PathBuf::from(&args[3]),
        &LoadOptions::default(),
    )
    .unwrap();
    println!(
        "loaded {} tensors in {:.1?}; interpolated {:?}; unused {:?}; kept {}",
        report.applied,
        start.elapsed(),
        report.interpolated,
        report.unused,
        report.kept.len()
    );
    if let Some(head) = args.get(4) {
        let options = LoadOptions {
            allow_missing: true,
            ..LoadOptions::default()
        };
        let r = load_checkpoint(&mut model, &PathBuf::from(head), &options).unwrap();
        println!("head: {} tensors", r.applied);
    }
    if let Some(io) = args.get(5) {
        compare(&model, io);
    }
}

/// Runs the reference inputs of `io` and prints the largest logit difference.
fn compare(model: &VqaModel<B>, io: &str) {
    let bytes = std::fs::read(io).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let padding = tensor_i64(&st, "padding_mask").equal_elem(1);
    let start = Instant::now();
    let logits = model.forward(
        tensor_f32(&st, "image"),
        tensor_i64(&st, "question"),
        padding,
    );
    let logits: Vec<f32> = logits.into_data().to_vec().unwrap();
    let elapsed = start.elapsed();
    let expected: Vec<f32> = tensor_f32::<2>(&st, "logits").into_data().to_vec().unwrap();
    let diff = logits
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let scale = expected.iter().map(|v| v.abs()).fold(0.0, f32::max);
    println!("forward {elapsed:.1?}; max |logit diff| {diff:e} (max |logit| {scale:.3})");
}
