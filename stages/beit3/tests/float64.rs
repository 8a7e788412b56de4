//! The fp16 checkpoint loads into a float64 model (tensors are cast to the backend's float type).
//!
//! Its own test binary: Burn 0.21 keeps one default float dtype per device, and NdArray<f32> and
//! NdArray<f64> share the CPU device, so mixing them in one process mixes dtypes.

mod common;

use burn::tensor::DType;
use common::*;

type B64 = burn::backend::NdArray<f64>;

#[test]
fn vqa_tiny_loads_into_a_float64_model() {
    let device = Default::default();
    let model = fixture_model::<B64>("vqa_tiny", &device);
    assert_eq!(model.head.fc2.weight.val().dtype(), DType::F64);
    assert_eq!(
        model.beit3.vision_embed.proj.weight.val().dtype(),
        DType::F64
    );
    let expected = read("vqa_tiny", "outputs.safetensors");
    let logits = forward_on_inputs(&model, "vqa_tiny", &device).logits;
    assert_eq!(logits.dtype(), DType::F64);
    assert_close("logits (f64)", logits, &expected["logits"], 1e-4);
}
