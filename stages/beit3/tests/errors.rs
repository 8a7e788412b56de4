//! Checkpoints that do not fit the configuration, or cannot be read, fail with clear errors.

mod common;

use beit3::{HeadTask, LoadError, LoadOptions, VqaModel, load_checkpoint};
use common::*;

fn load_into(config: beit3::VqaConfig) -> LoadError {
    let mut model = VqaModel::<B>::new(&config, &Default::default()).unwrap();
    let file = fixtures().join("vqa_tiny/checkpoint.pth");
    load_checkpoint(&mut model, &file, &LoadOptions::default()).unwrap_err()
}

#[test]
fn wrong_number_of_classes_names_the_key_and_both_shapes() {
    let mut config = config("vqa_tiny");
    config.task = HeadTask::Vqa { num_classes: 7 };
    let err = load_into(config);
    match &err {
        LoadError::ShapeMismatch {
            key,
            expected,
            found,
            ..
        } => {
            assert_eq!(key, "head.3.weight");
            assert_eq!(expected, &vec![7, 64]);
            assert_eq!(found, &vec![5, 64]);
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("head.3.weight") && msg.contains("[5, 64]") && msg.contains("[7, 64]"),
        "{msg}"
    );
    assert!(msg.contains("checkpoint.pth"), "{msg}");
}

#[test]
fn wrong_width_is_reported_on_the_first_tensor() {
    let mut config = config("vqa_tiny");
    config.encoder.vocab_size = 100;
    match load_into(config) {
        LoadError::ShapeMismatch {
            key,
            expected,
            found,
            ..
        } => {
            assert_eq!(
                (key.as_str(), expected, found),
                ("beit3.text_embed.weight", vec![100, 32], vec![67, 32])
            );
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
}

#[test]
fn text_position_table_is_not_interpolated() {
    let mut config = config("vqa_tiny");
    config.encoder.max_text_positions = 30;
    match load_into(config) {
        LoadError::ShapeMismatch { key, .. } => {
            assert_eq!(key, "beit3.encoder.embed_positions.B.weight")
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
}

#[test]
fn deeper_model_reports_the_missing_layer() {
    let mut config = config("vqa_tiny");
    config.encoder.depth = 3;
    match load_into(config) {
        LoadError::Missing { keys, .. } => {
            assert_eq!(keys.len(), 40);
            assert!(
                keys.iter()
                    .all(|k| k.starts_with("beit3.encoder.layers.2.")),
                "{keys:?}"
            );
        }
        other => panic!("expected missing keys, got {other:?}"),
    }
}

#[test]
fn missing_file_and_garbage_file_are_read_errors() {
    let mut model = VqaModel::<B>::new(&config("vqa_tiny"), &Default::default()).unwrap();
    let err = load_checkpoint(
        &mut model,
        std::path::Path::new("/nonexistent/x.pth"),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/x.pth"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pth");
    std::fs::write(&garbage, b"this is not a pickle").unwrap();
    let err = load_checkpoint(&mut model, &garbage, &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("garbage.pth"), "{err}");
}

#[test]
fn invalid_configurations_are_rejected() {
    let mut config = config("vqa_tiny");
    config.encoder.num_heads = 5;
    let err = VqaModel::<B>::new(&config, &Default::default()).unwrap_err();
    assert!(err.to_string().contains("num_heads"), "{err}");
    let mut config = common::config("vqa_tiny");
    config.encoder.img_size = 33;
    assert!(VqaModel::<B>::new(&config, &Default::default()).is_err());
}
