//! The 224-layout checkpoint loaded at a larger size: interpolated position table and logits.

mod common;

use beit3::interp::interpolate_position_table;
use beit3::{LoadOptions, VqaModel, load_checkpoint};
use common::*;

fn check_table(src: &str, dst: &str) {
    let tables = read("interp", "interp_tables.safetensors");
    let (s, d) = (&tables[src], &tables[dst]);
    let out = interpolate_position_table(&s.f32, s.shape[0], d.shape[0], s.shape[1]).unwrap();
    let diff = out
        .iter()
        .zip(&d.f32)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert_eq!(out.len(), d.f32.len());
    assert!(diff <= 1e-5, "{src} -> {dst}: max |diff| {diff:e}");
    // The first 3 rows are copied verbatim.
    let kept = 3 * s.shape[1];
    assert_eq!(&out[..kept], &s.f32[..kept]);
}

#[test]
fn interp_tables_match_torch_bicubic() {
    check_table("src_4", "dst_4_to_7");
    check_table("src_4", "dst_4_to_3");
    check_table("src_14", "dst_14_to_30");
    check_table("src_14", "dst_14_to_24");
}

#[test]
fn interp_rejects_non_square_tables() {
    let err = interpolate_position_table(&[0.0; 20 * 2], 20, 19, 2).unwrap_err();
    assert!(err.contains("20 rows"), "{err}");
}

/// The 32-px pretrained-layout checkpoint loaded into the 56-px model, then the head file.
fn load_interpolated(device: &burn::tensor::Device<B>) -> VqaModel<B> {
    let config = config("interp");
    assert_eq!(config.encoder.img_size, 56);
    let mut model = VqaModel::<B>::new(&config, device).unwrap();
    let src = fixtures().join("interp/checkpoint_src.pth");
    let report = load_checkpoint(&mut model, &src, &LoadOptions::default()).unwrap();
    assert_eq!(report.interpolated, Some((19, 52)));
    assert!(
        report
            .kept
            .iter()
            .all(|k| k.starts_with("pooler.") || k.starts_with("head."))
    );
    assert_eq!(report.kept.len(), 10, "{:?}", report.kept);
    for unused in [
        "beit3.encoder.layer_norm.A.weight",
        "mlm_head.weight",
        "mim_head.weight",
    ] {
        assert!(
            report.unused.iter().any(|k| k == unused),
            "{unused} not in {:?}",
            report.unused
        );
    }
    let head = fixtures().join("interp/head.safetensors");
    let options = LoadOptions {
        allow_missing: true,
        ..LoadOptions::default()
    };
    let head_report = load_checkpoint(&mut model, &head, &options).unwrap();
    assert_eq!(head_report.applied, 10);
    model
}

#[test]
fn interp_checkpoint_loads_at_larger_size_and_matches_reference() {
    let device = Default::default();
    let model = load_interpolated(&device);
    let expected = read("interp", "outputs.safetensors");
    let table = model.beit3.encoder.embed_positions.a.weight.val();
    assert_close(
        "pos_table_a_interpolated",
        table,
        &expected["pos_table_a_interpolated"],
        1e-5,
    );
    let out = forward_on_inputs(&model, "interp", &Default::default());
    assert_close(
        "encoder_out",
        out.encoder_out,
        &expected["encoder_out"],
        1e-4,
    );
    assert_close("logits", out.logits, &expected["logits"], 1e-4);
}
