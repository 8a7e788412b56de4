//! One training step (drop path off): losses and every parameter gradient match the reference.

mod common;

use burn::backend::Autodiff;
use common::grads::{GRAD_TOL, assert_gradients, fixture_step};
use common::*;

type AB = Autodiff<B>;

fn check(loss_name: &str, grads_file: &str) {
    let _graphs = beit3::graph_lock::lock_graphs();
    let device = Default::default();
    let step = fixture_step::<AB>(loss_name, &device);
    let outputs = read("train_step", "outputs.safetensors");
    assert_close("logits", step.logits, &outputs["logits"], 1e-4);
    assert_close(loss_name, step.loss, &outputs[loss_name], 1e-5);
    let expected = read("train_step", grads_file);
    assert_gradients(grads_file, &step.model, &step.grads, &expected, GRAD_TOL);
}

#[test]
fn train_step_cross_entropy_loss_and_gradients_match_reference() {
    check("loss_ce", "grads_ce.safetensors");
}

#[test]
fn train_step_vqa_bce_loss_and_gradients_match_reference() {
    check("loss_bce", "grads_bce.safetensors");
}
