//! Our own checkpoints: Burn-format and safetensors round trips give identical logits.

mod common;

use beit3::persist::{load_burn, save_burn, save_safetensors};
use beit3::{LoadError, LoadOptions, VqaModel, load_checkpoint};
use common::*;

fn loaded() -> VqaModel<B> {
    let mut model = VqaModel::<B>::new(&config("vqa_tiny"), &Default::default()).unwrap();
    load_checkpoint(
        &mut model,
        &fixtures().join("vqa_tiny/checkpoint.pth"),
        &LoadOptions::default(),
    )
    .unwrap();
    model
}

fn logits(model: &VqaModel<B>) -> Vec<f32> {
    let device = Default::default();
    let inputs = read("vqa_tiny", "inputs.safetensors");
    let out = model.forward(
        float(&inputs["image"], &device),
        int(&inputs["question"], &device),
        padding(&inputs["padding_mask"], &device),
    );
    out.into_data().to_vec().unwrap()
}

#[test]
fn burn_format_round_trip_gives_identical_logits() {
    let model = loaded();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    save_burn(&model, &path).unwrap();
    assert!(dir.path().join("model.bpk").is_file());
    let back = load_burn::<B>(&config("vqa_tiny"), &path, &Default::default()).unwrap();
    let (a, b) = (logits(&model), logits(&back));
    assert_eq!(a, b);
    // A fresh model gives other logits: the load really changed the weights.
    let fresh = VqaModel::<B>::new(&config("vqa_tiny"), &Default::default()).unwrap();
    assert_ne!(logits(&fresh), a);
}

#[test]
fn safetensors_export_uses_official_keys_and_round_trips() {
    let model = loaded();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_safetensors(&model, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let w = st.tensor("head.3.weight").unwrap();
    assert_eq!(w.shape(), &[5, 64]);
    assert!(
        st.tensor("beit3.encoder.layers.1.ffn.B.ffn_layernorm.weight")
            .is_ok()
    );
    assert_eq!(st.len(), 97);

    let mut back = VqaModel::<B>::new(&config("vqa_tiny"), &Default::default()).unwrap();
    let report = load_checkpoint(&mut back, &path, &LoadOptions::default()).unwrap();
    assert_eq!(report.applied, 97);
    assert!(report.unused.is_empty());
    assert_eq!(logits(&model), logits(&back));
}

#[test]
fn loading_a_burn_file_saved_for_another_configuration_fails() {
    let model = loaded();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bpk");
    save_burn(&model, &path).unwrap();
    type Change = fn(&mut beit3::VqaConfig);
    let cases: [(&str, Change); 3] = [
        ("deeper", |c| c.encoder.depth = 3),
        ("shallower", |c| c.encoder.depth = 1),
        ("more classes", |c| {
            c.task = beit3::HeadTask::Vqa { num_classes: 6 }
        }),
    ];
    for (what, change) in cases {
        let mut other = config("vqa_tiny");
        change(&mut other);
        let err = load_burn::<B>(&other, &path, &Default::default())
            .err()
            .unwrap_or_else(|| panic!("{what}: loaded"));
        let msg = err.to_string();
        assert!(msg.contains("model.bpk"), "{what}: {msg}");
        eprintln!("{what}: {msg}");
        match (what, err) {
            ("deeper", LoadError::Missing { keys, .. }) => assert_eq!(keys.len(), 40),
            ("more classes", LoadError::ShapeMismatch { key, found, .. }) => {
                assert!(key.starts_with("head.fc2."), "{key}");
                assert!(found.contains(&5), "{found:?}");
            }
            ("shallower", LoadError::Read { .. }) => {}
            (what, err) => panic!("{what}: unexpected {err:?}"),
        }
    }
}
