//! One training step (drop path off): losses and every parameter gradient match the reference.

mod common;

use std::collections::HashMap;

use beit3::VqaModel;
use beit3::loss::{cross_entropy, vqa_bce};
use beit3::params::checkpoint_key;
use burn::backend::Autodiff;
use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use common::*;

type AB = Autodiff<B>;

/// Gradient tolerance (absolute), 10x tighter than the fixture README asks (1e-4); the reference
/// is within 4.9e-7 of a float64 computation, and this model within 3.5e-7 of the reference.
// With the CPU backend's SIMD kernels (enabled for training speed) the largest difference is
// 1.8e-5 (3.5e-7 with the scalar kernels): the summation order of the f32 reductions differs.
const GRAD_TOL: f32 = 5e-5;

struct GradCheck<'a> {
    grads: &'a <AB as AutodiffBackend>::Gradients,
    expected: &'a HashMap<String, Raw>,
    path: Vec<String>,
    containers: Vec<String>,
    worst: (f32, String),
    checked: usize,
    zero: Vec<String>,
}

impl ModuleVisitor<AB> for GradCheck<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.into());
        self.containers.push(container_type.into());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
        self.containers.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
        let module = self
            .containers
            .iter()
            .rev()
            .find(|c| c.starts_with("Struct:"))
            .cloned()
            .unwrap_or_default();
        let path = self.path.join(".");
        let key = checkpoint_key(&path, module == "Struct:LayerNorm");
        let grad = param.val().grad(self.grads);
        let Some(expected) = self.expected.get(&key) else {
            assert_eq!(
                key, "beit3.vision_embed.mask_token",
                "no reference gradient for {key}"
            );
            let zero = grad
                .map(|g| g.abs().max().into_scalar() == 0.0)
                .unwrap_or(true);
            assert!(zero, "mask_token must get no gradient");
            return;
        };
        let grad = grad.unwrap_or_else(|| panic!("no gradient for {key}"));
        let mut shape = grad.dims().to_vec();
        let mut values: Vec<f32> = grad.into_data().to_vec().unwrap();
        if module == "Struct:Linear" && path.ends_with(".weight") {
            values = transpose(&values, shape[0], shape[1]);
            shape.reverse();
        }
        assert_eq!(shape, expected.shape, "{key}: shape");
        if expected.f32.iter().all(|v| *v == 0.0) {
            assert!(
                values.iter().all(|v| *v == 0.0),
                "{key}: reference gradient is exactly zero"
            );
            self.zero.push(key.clone());
        }
        let diff = values
            .iter()
            .zip(&expected.f32)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        if diff > self.worst.0 {
            self.worst = (diff, key);
        }
        self.checked += 1;
    }
}

fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| v[r * cols + c]))
        .collect()
}

fn model(device: &burn::tensor::Device<AB>) -> VqaModel<AB> {
    fixture_model("train_step", device)
}

/// The parameters whose reference gradient is exactly zero, from the fixture's `config.json`.
fn zero_grad_keys() -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join("train_step/config.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let list = json["grads"]["params_with_exactly_zero_grad"]
        .as_array()
        .unwrap();
    let mut keys: Vec<String> = list
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    keys.sort();
    assert!(!keys.is_empty());
    keys
}

fn check(loss_name: &str, grads_file: &str) {
    let device = Default::default();
    let model = model(&device);
    let inputs = read("train_step", "inputs.safetensors");
    let outputs = read("train_step", "outputs.safetensors");
    let logits = model.forward(
        float(&inputs["image"], &device),
        int(&inputs["question"], &device),
        padding(&inputs["padding_mask"], &device),
    );
    assert_close("logits", logits.clone(), &outputs["logits"], 1e-4);
    let loss = match loss_name {
        "loss_ce" => cross_entropy(logits, int(&inputs["labels"], &device)),
        _ => vqa_bce(logits, float(&inputs["targets"], &device)),
    };
    assert_close(loss_name, loss.clone(), &outputs[loss_name], 1e-5);
    let grads = loss.backward();
    let expected = read("train_step", grads_file);
    let mut check = GradCheck {
        grads: &grads,
        expected: &expected,
        path: vec![],
        containers: vec![],
        worst: (0.0, String::new()),
        checked: 0,
        zero: vec![],
    };
    model.visit(&mut check);
    assert_eq!(
        check.checked,
        expected.len(),
        "every reference gradient is checked"
    );
    let mut zero = check.zero.clone();
    zero.sort();
    assert_eq!(
        zero,
        zero_grad_keys(),
        "the exactly-zero gradients (last layer's text expert)"
    );
    let (diff, key) = check.worst;
    eprintln!("{grads_file}: worst |grad diff| {diff:e} at {key}");
    assert!(
        diff <= GRAD_TOL,
        "{grads_file}: |grad diff| {diff:e} at {key}"
    );
}

#[test]
fn train_step_cross_entropy_loss_and_gradients_match_reference() {
    check("loss_ce", "grads_ce.safetensors");
}

#[test]
fn train_step_vqa_bce_loss_and_gradients_match_reference() {
    check("loss_bce", "grads_bce.safetensors");
}
