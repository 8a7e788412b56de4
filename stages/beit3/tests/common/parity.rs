//! The reference fixtures through a whole model on any backend: the VQA forward and the training
//! step's losses and gradients (shared by tests/cubecl.rs and tests/train_step.rs).

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

use super::grads::{GRAD_TOL, assert_gradients, fixture_step};
use super::{Attention, assert_close, fixture_model, forward_on_inputs, read};

/// `vqa_tiny`'s encoder output, pooled output and logits within 1e-4 of the reference.
pub fn vqa_forward_matches<Bk: Backend>(attention: Attention, device: &Bk::Device) {
    let mut model = fixture_model::<Bk>("vqa_tiny", device);
    model.set_fused_attention(attention == Attention::Fused);
    let expected = read("vqa_tiny", "outputs.safetensors");
    let out = forward_on_inputs(&model, "vqa_tiny", device);
    assert_close(
        "encoder_out",
        out.encoder_out,
        &expected["encoder_out"],
        1e-4,
    );
    assert_close("pooled", out.pooled, &expected["pooled"], 1e-4);
    assert_close("logits", out.logits, &expected["logits"], 1e-4);
}

/// `train_step`'s logits, loss `loss_name` and every parameter's gradient (`grads_file`)
/// against the reference.
pub fn train_step_loss_matches<AB: AutodiffBackend>(
    loss_name: &str,
    grads_file: &str,
    attention: Attention,
    device: &AB::Device,
) {
    let _graphs = beit3::graph_lock::lock_graphs();
    let outputs = read("train_step", "outputs.safetensors");
    let step = fixture_step::<AB>(loss_name, attention, device);
    assert_close("logits", step.logits, &outputs["logits"], 1e-4);
    assert_close(loss_name, step.loss, &outputs[loss_name], 1e-5);
    let expected = read("train_step", grads_file);
    assert_gradients(grads_file, &step.model, &step.grads, &expected, GRAD_TOL);
}

/// [`train_step_loss_matches`] for both losses (cross-entropy and VQA's BCE).
pub fn train_step_matches<AB: AutodiffBackend>(attention: Attention, device: &AB::Device) {
    for (loss_name, grads_file) in [
        ("loss_ce", "grads_ce.safetensors"),
        ("loss_bce", "grads_bce.safetensors"),
    ] {
        train_step_loss_matches::<AB>(loss_name, grads_file, attention, device);
    }
}
