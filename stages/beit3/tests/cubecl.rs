//! The GPU code path without a GPU: the parity fixtures through Burn's WebGPU backend over Mesa's
//! lavapipe (Vulkan on the CPU), with kernel fusion and autotuning on. That is CubeCL, the
//! machinery behind the CUDA backend (the same fusion, autotune and generated kernels), with
//! another kernel compiler at the end (WGSL for Vulkan instead of CUDA C++ for NVRTC).
//!
//! With the `flash` feature, the backend's fused attention (src/flash) is registered, as the
//! trainer registers it on `wgpu` and `cuda`, and the fixtures are checked with it and with Burn's
//! decomposed attention (`set_fused_attention`); the head-shape tests run with it, as training
//! does.
//!
//! Needs a Vulkan device: `apt-get install mesa-vulkan-drivers libvulkan1` (.ci/run does).
//! `CUBECL_WGPU_DEFAULT_DEVICE` picks another adapter (e.g. `DiscreteGpu(0)`).

mod common;

use beit3::VqaModel;
use beit3::loss::cross_entropy;
use burn::backend::Autodiff;
use burn::backend::wgpu::WgpuDevice;
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use common::grads::{GRAD_TOL, collect_gradients, compare_gradients};
use common::*;

/// `Fusion<CubeBackend<WgpuRuntime>>`: the `fusion` feature is on, as for CUDA.
type W = burn::backend::Wgpu<f32, i32>;
type AW = Autodiff<W>;

/// The device, with the fused attention registered for `W` and `AW` (once per process).
fn device() -> WgpuDevice {
    #[cfg(feature = "flash")]
    {
        static REGISTERED: std::sync::Once = std::sync::Once::new();
        REGISTERED.call_once(|| {
            beit3::flash::register::<W>();
            beit3::flash::register::<AW>();
        });
    }
    WgpuDevice::DefaultDevice
}

/// Keeps the first `outputs` rows of the head's last layer (`head.3`): a model whose logits are
/// the reference's first `outputs` columns. With 1 output it is the `choice` head's `[N, 1]`
/// shape (Burn's fusion is reported to get that shape wrong on CUDA: tracel-ai/burn#5122), with 4
/// the `joint` head's.
fn narrow_head<Bk: Backend>(model: &mut VqaModel<Bk>, outputs: usize) {
    let fc2 = &mut model.head.fc2;
    let weight = fc2.weight.val();
    let [d_in, _] = weight.dims();
    fc2.weight = Param::from_tensor(weight.slice([0..d_in, 0..outputs]).detach());
    let bias = fc2.bias.take().expect("head.3 has a bias");
    fc2.bias = Some(Param::from_tensor(
        bias.val().narrow(0, 0, outputs).detach(),
    ));
}

/// The first `outputs` columns of a reference `[B, C]` tensor.
fn columns(raw: &Raw, outputs: usize) -> Raw {
    let [rows, cols] = [raw.shape[0], raw.shape[1]];
    Raw {
        shape: vec![rows, outputs],
        f32: (0..rows)
            .flat_map(|r| raw.f32[r * cols..r * cols + outputs].to_vec())
            .collect(),
        i64: vec![],
    }
}

#[test]
fn vqa_fixture_forward_matches_the_reference_on_cubecl() {
    parity::vqa_forward_matches::<W>(Attention::Decomposed, &device());
}

#[test]
fn train_step_losses_and_gradients_match_the_reference_on_cubecl() {
    parity::train_step_matches::<AW>(Attention::Decomposed, &device());
}

/// The whole model with the fused attention: the VQA forward and the training step (losses and
/// every gradient) hold as with the decomposed one.
#[cfg(feature = "flash")]
#[test]
fn the_reference_fixtures_hold_with_the_fused_attention() {
    let probe = Tensor::<W, 4>::zeros([1, 1, 1, 8], &device());
    let pad = Tensor::<W, 2, Bool>::from_data([[false]], &device());
    let fused = beit3::flash::registry::fused(probe.clone(), probe.clone(), probe, pad);
    assert!(
        fused.is_ok(),
        "the fused attention is registered for the backend"
    );
    parity::vqa_forward_matches::<W>(Attention::Fused, &device());
    parity::train_step_matches::<AW>(Attention::Fused, &device());
}

fn narrowed_logits<Bk: Backend>(outputs: usize, device: &Bk::Device) -> Tensor<Bk, 2> {
    let mut model = fixture_model::<Bk>("vqa_tiny", device);
    narrow_head(&mut model, outputs);
    forward_on_inputs(&model, "vqa_tiny", device).logits
}

/// The `choice` (`[N, 1]`) and `joint` (`[N, 4]`) output shapes, forward, with and without the
/// autodiff layer (fusion records different graphs for the two).
#[test]
fn choice_and_joint_head_shapes_match_the_reference_on_cubecl() {
    let expected = read("vqa_tiny", "outputs.safetensors");
    for outputs in [1, 4] {
        let want = columns(&expected["logits"], outputs);
        let what = format!("logits [N, {outputs}]");
        // The narrowing itself, on the CPU backend the other tests check.
        assert_close(
            &what,
            narrowed_logits::<B>(outputs, &Default::default()),
            &want,
            1e-4,
        );
        assert_close(&what, narrowed_logits::<W>(outputs, &device()), &want, 1e-4);
        assert_close(
            &what,
            narrowed_logits::<AW>(outputs, &device()),
            &want,
            1e-4,
        );
    }
}

/// A `choice`-head training step: the fixture's 4 sequences as the 4 options of one question,
/// their `[4, 1]` scores as one row of 4 logits, cross-entropy against option 2 (the train
/// stage's loss for that head).
fn choice_step<AB: AutodiffBackend>(device: &AB::Device) -> (VqaModel<AB>, AB::Gradients) {
    let mut model = fixture_model::<AB>("train_step", device);
    narrow_head(&mut model, 1);
    let inputs = read("train_step", "inputs.safetensors");
    let scores = model.forward(
        float(&inputs["image"], device),
        int(&inputs["question"], device),
        padding(&inputs["padding_mask"], device),
    );
    assert_eq!(scores.dims(), [4, 1]);
    let label = Tensor::<AB, 1, Int>::from_data([2], device);
    let grads = cross_entropy(scores.reshape([1, 4]), label).backward();
    (model, grads)
}

/// No reference fixture has a one-output head, so the CPU backend (which matches the reference
/// for the 5-output head, tests/train_step.rs) is the reference for its gradients.
#[test]
fn choice_head_training_step_matches_the_cpu_backend_on_cubecl() {
    let _graphs = beit3::graph_lock::lock_graphs();
    let (cpu_model, cpu_grads) = choice_step::<Autodiff<B>>(&Default::default());
    let expected = collect_gradients(&cpu_model, &cpu_grads);
    let (model, grads) = choice_step::<AW>(&device());
    let report = compare_gradients(&model, &grads, &expected);
    // The reference map holds every parameter with a gradient (all but the mask token).
    assert_eq!(report.checked, expected.len());
    let (diff, key) = report.worst;
    eprintln!("choice head gradients, CubeCL vs CPU: worst {diff:e} at {key}");
    assert!(
        diff <= GRAD_TOL,
        "choice head: |grad diff| {diff:e} at {key}"
    );
}
