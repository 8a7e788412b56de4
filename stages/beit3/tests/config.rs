//! Configurations: presets, derived sizes, serde (as a manifest gives them), validation.

use beit3::{Beit3Config, HeadTask, Preset, VqaConfig};

#[test]
fn presets_have_the_reference_sizes() {
    let b = Beit3Config::base(480);
    assert_eq!(
        (b.embed_dim, b.depth, b.num_heads, b.ffn_dim),
        (768, 12, 12, 3072)
    );
    assert_eq!(
        (b.vocab_size, b.max_text_positions, b.patch_size),
        (64010, 1024, 16)
    );
    let l = Beit3Config::large(224);
    assert_eq!(
        (l.embed_dim, l.depth, l.num_heads, l.ffn_dim),
        (1024, 24, 16, 4096)
    );
    for (size, rows, tokens) in [
        (224, 199, 197),
        (384, 579, 577),
        (480, 903, 901),
        (768, 2307, 2305),
    ] {
        let c = Preset::Base.config(size);
        assert_eq!(
            (c.vision_position_rows(), c.vision_tokens()),
            (rows, tokens),
            "{size} px"
        );
        assert_eq!(c.head_dim(), 64);
    }
}

#[test]
fn drop_path_rates_rise_linearly_from_zero() {
    let rates = Beit3Config::base(480)
        .with_drop_path_rate(0.1)
        .drop_path_rates();
    assert_eq!(rates.len(), 12);
    assert_eq!(rates[0], 0.0);
    assert!((rates[11] - 0.1).abs() < 1e-12);
    assert!((rates[6] - 0.1 * 6.0 / 11.0).abs() < 1e-12);
}

#[test]
fn a_manifest_can_give_a_custom_config() {
    let json = r#"{
        "encoder": {"embed_dim": 32, "depth": 2, "num_heads": 4, "ffn_dim": 80, "img_size": 32,
                    "patch_size": 8, "vocab_size": 67, "max_text_positions": 20},
        "task": {"kind": "vqa", "num_classes": 5}
    }"#;
    let config: VqaConfig = serde_json::from_str(json).unwrap();
    assert_eq!(config.task, HeadTask::Vqa { num_classes: 5 });
    assert_eq!(config.encoder.in_chans, 3);
    assert_eq!(config.encoder.layernorm_eps, 1e-5);
    assert_eq!(config.encoder.num_patches(), 16);
    config.validate().unwrap();

    let choice: HeadTask = serde_json::from_str(r#"{"kind": "choice"}"#).unwrap();
    assert_eq!(choice.num_classes(), 1);
    let joint: HeadTask = serde_json::from_str(r#"{"kind": "joint"}"#).unwrap();
    assert_eq!(joint.num_classes(), 4);
    let preset: Preset = serde_json::from_str(r#""large""#).unwrap();
    assert_eq!(preset, Preset::Large);
}

#[test]
fn unknown_fields_and_bad_sizes_are_rejected() {
    let json = r#"{"embed_dim": 32, "depth": 2, "num_heads": 4, "ffn_dim": 80, "img_size": 32, "heads": 3}"#;
    let err = serde_json::from_str::<Beit3Config>(json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("heads"), "{err}");
    let mut c = Beit3Config::base(480);
    c.img_size = 500;
    assert!(c.validate().unwrap_err().to_string().contains("patch_size"));
    let config = VqaConfig {
        encoder: Beit3Config::base(480),
        task: HeadTask::Vqa { num_classes: 0 },
    };
    assert!(config.validate().is_err());
}

#[test]
fn a_toml_manifest_table_deserializes() {
    let text = r#"
        task = { kind = "joint" }
        [encoder]
        embed_dim = 768
        depth = 12
        num_heads = 12
        ffn_dim = 3072
        img_size = 480
        drop_path_rate = 0.1
    "#;
    let config: VqaConfig = toml::from_str(text).unwrap();
    assert_eq!(
        config.encoder,
        Beit3Config::base(480).with_drop_path_rate(0.1)
    );
    assert_eq!(config.task.num_classes(), 4);
}
