//! The fused attention (src/flash) on Burn's WebGPU backend over Mesa's lavapipe (Vulkan on the
//! CPU: the same CubeCL kernels CUDA runs, compiled to WGSL), against Burn's decomposed attention
//! on the CPU (NdArray), from the same random inputs: outputs and the gradients of q, k and v,
//! with padded keys, lengths that do and do not fill a tile (1, 7, 70, 965), several heads and
//! batch items, with and without fusion.
//!
//! Needs the `flash` feature (`cargo test --workspace --features beit3/flash`, as .ci/run does)
//! and a Vulkan device (`apt-get install mesa-vulkan-drivers libvulkan1`).

#![cfg(feature = "flash")]

use beit3::flash::FlashAttention;
use burn::backend::wgpu::WgpuRuntime;
use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

/// With fusion, as the model runs.
type Fused = burn::backend::Wgpu<f32, i32>;
/// The bare CubeCL backend.
type Bare = burn_cubecl::CubeBackend<WgpuRuntime, f32, i32, u32>;
/// Where the reference is computed.
type Cpu = NdArray<f32>;

/// The shapes (batch, heads, n, head_dim) checked on the fused backend.
const SHAPES: [[usize; 4]; 4] = [[2, 3, 7, 8], [2, 2, 1, 8], [3, 2, 70, 16], [1, 2, 965, 64]];

/// Random q, k, v and an output weight `[batch, heads, n, d]`, and a mask padding the last
/// `n / 3` keys of every other batch item (none of item 0).
struct Case {
    shape: [usize; 4],
    data: [TensorData; 4],
    pad: TensorData,
}

impl Case {
    fn new(shape: [usize; 4]) -> Case {
        let [batch, _, n, _] = shape;
        let device = Default::default();
        let data = [0; 4].map(|_| {
            Tensor::<Cpu, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device).into_data()
        });
        let padded: Vec<bool> = (0..batch)
            .flat_map(|b| (0..n).map(move |j| b % 2 == 1 && j >= n - n / 3))
            .collect();
        Case {
            shape,
            data,
            pad: TensorData::new(padded, [batch, n]),
        }
    }

    /// Output and gradients of q, k, v of `sum(attention(q, k, v) · w)` on `B`.
    fn run<B: AutodiffBackend>(&self, fused: bool) -> [TensorData; 4] {
        let device = Default::default();
        let [q, k, v] = [0, 1, 2]
            .map(|i| Tensor::<B, 4>::from_data(self.data[i].clone(), &device).require_grad());
        let weight = Tensor::<B, 4>::from_data(self.data[3].clone(), &device);
        let pad = Tensor::<B, 2, Bool>::from_data(self.pad.clone(), &device);
        let out = if fused {
            registered_flash(q.clone(), k.clone(), v.clone(), pad)
        } else {
            let [batch, heads, n, _] = self.shape;
            let mask = pad.reshape([batch, 1, 1, n]).expand([batch, heads, n, n]);
            let options = AttentionModuleOptions::default();
            attention(q.clone(), k.clone(), v.clone(), Some(mask), None, options)
        };
        let grads = (out.clone() * weight).sum().backward();
        let grad = |t: &Tensor<B, 4>| t.grad(&grads).expect("a gradient").into_data();
        [out.into_data(), grad(&q), grad(&k), grad(&v)]
    }
}

/// `beit3::flash::flash_attention` through the registry, as the model reaches it.
fn registered_flash<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    pad: Tensor<B, 2, Bool>,
) -> Tensor<B, 4> {
    beit3::flash::registry::fused(q, k, v, pad)
        .unwrap_or_else(|_| panic!("the backend was registered"))
}

fn check<B: AutodiffBackend + FlashAttention>(shape: [usize; 4]) {
    beit3::flash::register::<B>();
    let case = Case::new(shape);
    let fused = case.run::<B>(true);
    let reference = case.run::<Autodiff<Cpu>>(false);
    for (name, (a, b)) in ["output", "dq", "dk", "dv"]
        .iter()
        .zip(fused.iter().zip(&reference))
    {
        let diff = a
            .iter::<f32>()
            .zip(b.iter::<f32>())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            diff <= 1e-4,
            "{shape:?}: the fused {name} differs by {diff}"
        );
    }
}

#[test]
fn the_fused_attention_and_its_gradients_equal_the_decomposed_ones() {
    for shape in SHAPES {
        check::<Autodiff<Fused>>(shape);
    }
    check::<Autodiff<Bare>>([2, 3, 70, 16]);
}
