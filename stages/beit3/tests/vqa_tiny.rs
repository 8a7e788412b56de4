//! The official-layout fp16 checkpoint loads and reproduces the reference activations and logits.

mod common;

use beit3::{LoadOptions, VqaModel, load_checkpoint};
use common::*;

fn load() -> VqaModel<B> {
    let device = Default::default();
    let mut model = VqaModel::<B>::new(&config("vqa_tiny"), &device).unwrap();
    let file = fixtures().join("vqa_tiny/checkpoint.pth");
    let report = load_checkpoint(&mut model, &file, &LoadOptions::default()).unwrap();
    assert_eq!(
        report.unused,
        vec!["mlm_head.bias".to_string(), "mlm_head.weight".to_string()]
    );
    assert!(report.kept.is_empty(), "kept: {:?}", report.kept);
    assert_eq!(report.applied, 97);
    assert_eq!(report.interpolated, None);
    model
}

#[test]
fn vqa_tiny_logits_match_reference() {
    let model = load();
    let expected = read("vqa_tiny", "outputs.safetensors");
    let out = forward_on_inputs(&model, "vqa_tiny", &Default::default());
    assert_close(
        "encoder_out",
        out.encoder_out,
        &expected["encoder_out"],
        1e-4,
    );
    assert_close("pooled", out.pooled, &expected["pooled"], 1e-4);
    assert_close("logits", out.logits, &expected["logits"], 1e-4);
}

#[test]
fn vqa_tiny_intermediate_activations_match_reference() {
    let device = Default::default();
    let model = load();
    let inputs = read("vqa_tiny", "inputs.safetensors");
    let expected = read("vqa_tiny", "outputs.safetensors");
    let (mut x, pad, split) = model.beit3.embed(
        float(&inputs["image"], &device),
        int(&inputs["question"], &device),
        padding(&inputs["padding_mask"], &device),
    );
    assert_eq!(split, 17);
    assert_close("embed_out", x.clone(), &expected["embed_out"], 1e-4);
    for (i, layer) in model.beit3.encoder.layers.iter().enumerate() {
        x = layer.forward(x, pad.clone(), split);
        assert_close(
            &format!("layer{i}_out"),
            x.clone(),
            &expected[&format!("layer{i}_out")],
            1e-4,
        );
    }
}
