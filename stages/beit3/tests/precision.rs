//! Mixed precision: the encoder's products computed in another float type than the parameters.
//!
//! bf16 itself runs on Burn's Flex CPU backend, which holds half types natively: the logits
//! against the torchscale fixture within bf16's rounding, and the gradients back to the f32
//! parameters. On NdArray (no half types) f64 stands in for it: the casts, the differentiable
//! path back to the f32 parameters, and which layers take part are the same, and there the
//! products can be checked to the last bit.

mod common;

use beit3::precision::linear_in;
use burn::backend::{Autodiff, Flex};
use burn::nn::LinearConfig;
use burn::prelude::*;
use burn::tensor::module::linear;
use burn::tensor::{DType, Distribution, FloatDType};
use common::*;

/// The product is computed in f64 and only its result is rounded to f32: it matches an f64
/// reference to the last bit where the plain f32 product carries accumulated rounding error.
#[test]
fn linear_in_computes_in_the_given_type_and_returns_the_input_type() {
    let device = Default::default();
    let layer = LinearConfig::new(4096, 8).init::<B>(&device);
    let x = Tensor::<B, 2>::random([16, 4096], Distribution::Normal(0.0, 1.0), &device);
    let wide = |t: Tensor<B, 2>| t.cast(FloatDType::F64);
    let bias = layer.bias.as_ref().map(|b| b.val().cast(FloatDType::F64));
    let exact = linear(wide(x.clone()), wide(layer.weight.val()), bias);
    let mixed = linear_in(&layer, x.clone(), Some(FloatDType::F64));
    let plain = linear_in(&layer, x, None);
    assert_eq!(mixed.dtype(), DType::F32);
    let rounded = exact.cast(FloatDType::F32);
    let err = |t: Tensor<B, 2>| -> f32 { (t - rounded.clone()).abs().max().into_scalar() };
    let (mixed_err, plain_err) = (err(mixed), err(plain));
    assert_eq!(mixed_err, 0.0, "f64 products rounded once");
    assert!(plain_err > 0.0, "the f32 products should differ somewhere");
}

#[test]
fn mixed_model_matches_the_reference_and_trains_its_f32_parameters() {
    let _graphs = beit3::graph_lock::lock_graphs();
    type A = Autodiff<B>;
    let device = Default::default();
    let mut model = fixture_model::<A>("vqa_tiny", &device);
    model.set_compute(Some(FloatDType::F64));
    let expected = read("vqa_tiny", "outputs.safetensors");
    let out = forward_on_inputs(&model, "vqa_tiny", &device);
    assert_eq!(out.logits.dtype(), DType::F32);
    assert_close("logits", out.logits.clone(), &expected["logits"], 1e-4);
    let grads = out.logits.sum().backward();
    let layer = &model.beit3.encoder.layers[0];
    for (name, weight) in [
        ("q_proj.A", &layer.self_attn.q_proj.a.weight),
        ("ffn.B.fc1", &layer.ffn.b.fc1.weight),
    ] {
        let grad = weight
            .grad(&grads)
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert_eq!(grad.dtype(), DType::F32, "{name}");
        assert!(
            grad.abs().sum().into_scalar() > 0.0,
            "{name}: zero gradient"
        );
    }
}

/// Largest |logit| difference allowed for the bf16 model against the f32 torchscale fixture.
///
/// bf16 keeps 8 significant bits: every rounding of a product's inputs and outputs is off by up
/// to 2^-9 ≈ 2e-3 relative, and each layer rounds several times (q, k, v, scores, probabilities,
/// output projection, both FFN products) on a residual stream reaching 8 in magnitude. Measured
/// (|logit| ≤ 1.2): Flex bf16 1.9e-2 (encoder output 6.8e-2, pooled 2.3e-2; the f32 model 4e-7).
/// The same roundings emulated in PyTorch (each encoder Linear and `bmm` with inputs and result
/// rounded to bf16, the scores scaled after the product) give 1.0e-2 (encoder output 8.8e-2),
/// with the same largest logit error in sign and place; torchscale under CPU autocast to bf16
/// gives 1.1e-2. 4e-2 is about twice the measurement, room for another summation order or
/// rounding sequence; a wrong cast, a mask or product lost on the way, shows as errors of the
/// logits' own size (1e-1 and more).
const BF16_LOGITS_TOLERANCE: f32 = 4e-2;

/// The encoder's products in real bf16 (Flex holds it natively), under `Autodiff` as in training:
/// the logits match the f32 reference within bf16 rounding, and the gradients reach the f32
/// parameters.
#[test]
fn bf16_model_on_flex_matches_the_reference_and_trains_its_f32_parameters() {
    let _graphs = beit3::graph_lock::lock_graphs();
    type A = Autodiff<Flex>;
    let device = Default::default();
    let mut model = fixture_model::<A>("vqa_tiny", &device);
    let expected = read("vqa_tiny", "outputs.safetensors");
    let f32_diff = max_diff(
        forward_on_inputs(&model, "vqa_tiny", &device).logits,
        &expected["logits"],
    );
    model.set_compute(Some(FloatDType::BF16));
    let out = forward_on_inputs(&model, "vqa_tiny", &device);
    assert_eq!(out.logits.dtype(), DType::F32);
    let bf16_diff = max_diff(out.logits.clone(), &expected["logits"]);
    eprintln!("logits: max |diff| f32 {f32_diff:e}, bf16 {bf16_diff:e}");
    assert!(f32_diff <= 1e-4, "f32 on Flex: {f32_diff:e}");
    assert!(
        bf16_diff <= BF16_LOGITS_TOLERANCE,
        "bf16 logits: max |diff| {bf16_diff:e} > {BF16_LOGITS_TOLERANCE:e}"
    );
    // The products were rounded: bf16 is measurably off where f32 is not.
    assert!(bf16_diff > 10.0 * f32_diff.max(1e-6), "bf16 {bf16_diff:e}");
    let grads = out.logits.sum().backward();
    let layer = &model.beit3.encoder.layers[0];
    for (name, weight) in [
        ("q_proj.A", &layer.self_attn.q_proj.a.weight),
        ("v_proj.B", &layer.self_attn.v_proj.b.weight),
        ("ffn.A.fc2", &layer.ffn.a.fc2.weight),
        ("ffn.B.fc1", &layer.ffn.b.fc1.weight),
    ] {
        let grad = weight
            .grad(&grads)
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert_eq!(grad.dtype(), DType::F32, "{name}");
        assert!(
            grad.abs().sum().into_scalar() > 0.0,
            "{name}: zero gradient"
        );
    }
}

#[test]
fn set_compute_reaches_every_encoder_product() {
    let mut model = fixture_model::<B>("vqa_tiny", &Default::default());
    model.set_compute(Some(FloatDType::BF16));
    for layer in &model.beit3.encoder.layers {
        let attn = &layer.self_attn;
        let linears = [&attn.q_proj, &attn.k_proj, &attn.v_proj, &attn.out_proj];
        assert!(linears.iter().all(|l| l.compute == Some(FloatDType::BF16)));
        assert_eq!(layer.ffn.a.compute, Some(FloatDType::BF16));
        assert_eq!(layer.ffn.b.compute, Some(FloatDType::BF16));
    }
    model.set_compute(None);
    assert_eq!(model.beit3.encoder.layers[0].ffn.a.compute, None);
}
