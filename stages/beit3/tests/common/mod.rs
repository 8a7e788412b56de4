//! Shared helpers for the parity tests: fixture paths, safetensors reading, tensor comparison.
#![allow(dead_code)]

pub mod grads;
pub mod parity;

use std::collections::HashMap;
use std::path::PathBuf;

use beit3::{Beit3Config, HeadTask, LoadOptions, VqaConfig, VqaModel, VqaOutput, load_checkpoint};
use burn::backend::NdArray;
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors};

pub type B = NdArray<f32>;

/// Which attention a fixture model runs: the backend's fused one where it has one registered
/// (`beit3::flash`), or Burn's decomposed one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Attention {
    Fused,
    Decomposed,
}

/// A tensor read from a fixture: shape and values (ints and bytes are kept as i64).
pub struct Raw {
    pub shape: Vec<usize>,
    pub f32: Vec<f32>,
    pub i64: Vec<i64>,
}

/// The fixtures folder: `$BEIT3_FIXTURES` when set (a binary run away from its source tree),
/// else the repository's `tests/fixtures/beit3`.
pub fn fixtures() -> PathBuf {
    std::env::var_os("BEIT3_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/beit3"),
        PathBuf::from,
    )
}

pub fn read(case: &str, file: &str) -> HashMap<String, Raw> {
    let path = fixtures().join(case).join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = view.data();
            let (f32, i64) = match view.dtype() {
                Dtype::F32 => (
                    data.chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                    vec![],
                ),
                Dtype::I64 => (
                    vec![],
                    data.chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                ),
                Dtype::U8 => (vec![], data.iter().map(|&b| b.into()).collect()),
                other => panic!("{name}: unexpected dtype {other:?}"),
            };
            (
                name,
                Raw {
                    shape: view.shape().to_vec(),
                    f32,
                    i64,
                },
            )
        })
        .collect()
}

pub fn float<Bk: Backend, const D: usize>(raw: &Raw, device: &Bk::Device) -> Tensor<Bk, D> {
    Tensor::from_data(TensorData::new(raw.f32.clone(), raw.shape.clone()), device)
}

pub fn int<Bk: Backend, const D: usize>(raw: &Raw, device: &Bk::Device) -> Tensor<Bk, D, Int> {
    Tensor::from_data(TensorData::new(raw.i64.clone(), raw.shape.clone()), device)
}

/// The padding mask as booleans (`true` = padding) from the fixture's 0/1 integers.
pub fn padding<Bk: Backend>(raw: &Raw, device: &Bk::Device) -> Tensor<Bk, 2, Bool> {
    int::<Bk, 2>(raw, device).equal_elem(1)
}

/// The model configuration in a fixture's `config.json` (section `model`).
pub fn config(case: &str) -> VqaConfig {
    let path = fixtures().join(case).join("config.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let m = &json["model"];
    let u = |k: &str| m[k].as_u64().unwrap_or_else(|| panic!("config.model.{k}")) as usize;
    let encoder = Beit3Config {
        embed_dim: u("embed_dim"),
        depth: u("depth"),
        num_heads: u("num_heads"),
        ffn_dim: u("ffn_dim"),
        img_size: u("img_size"),
        patch_size: u("patch_size"),
        in_chans: u("in_chans"),
        vocab_size: u("vocab_size"),
        max_text_positions: u("max_source_positions"),
        layernorm_eps: m["layernorm_eps"].as_f64().unwrap(),
        drop_path_rate: m["drop_path_rate"].as_f64().unwrap(),
    };
    VqaConfig {
        encoder,
        task: HeadTask::Vqa {
            num_classes: u("num_classes"),
        },
    }
}

/// Largest absolute difference between a tensor and reference values of the same shape.
pub fn max_diff<Bk: Backend, const D: usize>(actual: Tensor<Bk, D>, expected: &Raw) -> f32 {
    assert_eq!(actual.dims().to_vec(), expected.shape, "shape");
    let actual: Vec<f32> = actual.into_data().convert::<f32>().to_vec().unwrap();
    actual
        .iter()
        .zip(&expected.f32)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

/// Asserts that `actual` matches `expected` within `tol` (absolute).
pub fn assert_close<Bk: Backend, const D: usize>(
    what: &str,
    actual: Tensor<Bk, D>,
    expected: &Raw,
    tol: f32,
) {
    let diff = max_diff(actual, expected);
    assert!(diff <= tol, "{what}: max |diff| {diff:e} > {tol:e}");
    eprintln!("{what}: max |diff| {diff:e}");
}

/// A model of `case`'s configuration with the weights of `vqa_tiny/checkpoint.pth`.
pub fn fixture_model<Bk: Backend>(case: &str, device: &Bk::Device) -> VqaModel<Bk> {
    let mut model = VqaModel::<Bk>::new(&config(case), device).unwrap();
    let file = fixtures().join("vqa_tiny/checkpoint.pth");
    load_checkpoint(&mut model, &file, &LoadOptions::default()).unwrap();
    model
}

/// The model's outputs on a case's `inputs.safetensors` (image, question, padding mask).
pub fn forward_on_inputs<Bk: Backend>(
    model: &VqaModel<Bk>,
    case: &str,
    device: &Bk::Device,
) -> VqaOutput<Bk> {
    let inputs = read(case, "inputs.safetensors");
    model.forward_detailed(
        float(&inputs["image"], device),
        int(&inputs["question"], device),
        padding(&inputs["padding_mask"], device),
    )
}
