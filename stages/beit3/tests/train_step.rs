//! One training step (drop path off): losses and every parameter gradient match the reference.

mod common;

use burn::backend::Autodiff;
use common::*;

type AB = Autodiff<B>;

fn check(loss_name: &str, grads_file: &str) {
    let device = Default::default();
    parity::train_step_loss_matches::<AB>(loss_name, grads_file, Attention::Decomposed, &device);
}

#[test]
fn train_step_cross_entropy_loss_and_gradients_match_reference() {
    check("loss_ce", "grads_ce.safetensors");
}

#[test]
fn train_step_vqa_bce_loss_and_gradients_match_reference() {
    check("loss_bce", "grads_bce.safetensors");
}
