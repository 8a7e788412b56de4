//! The whole model with the fused attention (src/flash) on Burn's WebGPU backend over lavapipe:
//! the reference fixtures' VQA forward and training step (losses and every gradient) hold with
//! it on, as tests/cubecl.rs checks them with Burn's decomposed attention. A process of its own:
//! registering the backend turns the fused attention on for every model on it.
//!
//! Needs the `flash` feature and a Vulkan device (see tests/flash.rs).

#![cfg(feature = "flash")]

mod common;

use burn::backend::Autodiff;
use burn::backend::wgpu::WgpuDevice;
use common::parity;

type W = burn::backend::Wgpu<f32, i32>;
type AW = Autodiff<W>;

#[test]
fn the_reference_fixtures_hold_with_the_fused_attention() {
    beit3::flash::register::<W>();
    beit3::flash::register::<AW>();
    let device = WgpuDevice::DefaultDevice;
    parity::vqa_forward_matches::<W>(&device);
    parity::train_step_matches::<AW>(&device);
}
