//! The time of one layer's attention (the softmax attention between the q, k, v projections and
//! the output projection, what `beit3::attention::softmax_attention` runs), forward and backward,
//! on the device the train stage would use: Burn's decomposed attention or the fused one
//! (`beit3::flash`, registered for `cuda` and `wgpu`), on random inputs with padded keys.
//!
//! ```text
//! cargo run --release -p pipeline-stages-vqa --example attention_bench -- BATCH HEADS TOKENS HEAD_DIM STEPS
//! ```
//! BEiT-3 at 480 px with 64 text tokens has 965 tokens; base has 12 heads, large 16, both 64 wide.
//! Prints `forward_ms=F layer_ms=L` (per call, after warm-up calls, the device synchronised: `L`
//! is forward plus backward). Environment: `DEVICE` (`cpu`, `cuda`, `wgpu`), `PRECISION` (`f32`,
//! `bf16`: q, k, v in bf16, softmax in f32, as the model runs them), `FUSED` (`1`, the default,
//! or `0`). Run by scripts/gpu_attention.sh beside PyTorch (benches/train/torch_attention.py).

use std::time::Instant;

use beit3::attention::softmax_attention;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, Distribution};
use pipeline_stages_vqa::device::{Compute, DeviceSpec, OnBackend, Precision, dispatch};

const WARMUP: usize = 3;

#[derive(Clone, Copy)]
struct Shape {
    batch: usize,
    heads: usize,
    tokens: usize,
    head_dim: usize,
    steps: usize,
    precision: Precision,
    fused: bool,
}

fn parse() -> (Shape, DeviceSpec) {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or_else(|_| panic!("{a} is not a number")))
        .collect();
    let [batch, heads, tokens, head_dim, steps] = args[..] else {
        panic!("usage: attention_bench BATCH HEADS TOKENS HEAD_DIM STEPS");
    };
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let precision = match env("PRECISION", "f32").as_str() {
        "f32" => Precision::F32,
        "bf16" => Precision::Bf16,
        other => panic!("PRECISION is f32 or bf16, not {other}"),
    };
    let fused = match env("FUSED", "1").as_str() {
        "1" => true,
        "0" => false,
        other => panic!("FUSED is 1 or 0, not {other}"),
    };
    let device = DeviceSpec::try_from(env("DEVICE", "cpu")).unwrap_or_else(|e| panic!("{e}"));
    let shape = Shape {
        batch,
        heads,
        tokens,
        head_dim,
        steps,
        precision,
        fused,
    };
    (shape, device)
}

fn main() {
    let (shape, device) = parse();
    let compute = Compute {
        device,
        precision: shape.precision,
        recompute: false,
    };
    let (forward, layer) = dispatch(compute, &[], Bench(shape)).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "forward_ms={:.3} layer_ms={:.3}",
        forward * 1e3,
        layer * 1e3
    );
}

struct Bench(Shape);

impl OnBackend for Bench {
    /// Seconds per call: forward only, forward and backward.
    type Output = (f64, f64);

    fn run<B: AutodiffBackend>(self, device: B::Device) -> (f64, f64) {
        let shape = self.0;
        let inputs = Inputs::<B>::random(&shape, &device);
        let forward = timed::<B>(&shape, &device, || {
            drop(inputs.attend(&shape));
        });
        let layer = timed::<B>(&shape, &device, || {
            drop(inputs.attend(&shape).backward());
        });
        (forward, layer)
    }
}

/// Seconds per call of `call`, after `WARMUP` calls, the device synchronised at both ends.
fn timed<B: Backend>(shape: &Shape, device: &B::Device, mut call: impl FnMut()) -> f64 {
    for _ in 0..WARMUP {
        call();
    }
    B::sync(device).expect("device sync");
    let started = Instant::now();
    for _ in 0..shape.steps {
        call();
    }
    B::sync(device).expect("device sync");
    started.elapsed().as_secs_f64() / shape.steps as f64
}

struct Inputs<B: Backend> {
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    key_padding: Tensor<B, 2, Bool>,
    /// The loss's weights: the loss is `sum(out · weights)`, so the output's gradient is dense.
    weights: Tensor<B, 4>,
}

impl<B: AutodiffBackend> Inputs<B> {
    fn random(shape: &Shape, device: &B::Device) -> Self {
        let dims = [shape.batch, shape.heads, shape.tokens, shape.head_dim];
        let input = || {
            let t = Tensor::<B, 4>::random(dims, Distribution::Normal(0.0, 1.0), device);
            match shape.precision.compute_dtype() {
                Some(dtype) => t.cast(dtype),
                None => t,
            }
            .require_grad()
        };
        // The last eighth of every other question's tokens is padding.
        let n = shape.tokens;
        let pad = (0..shape.batch * n)
            .map(|i| (i / n) % 2 == 1 && i % n >= n - n / 8)
            .collect::<Vec<_>>();
        Self {
            q: input(),
            k: input(),
            v: input(),
            key_padding: Tensor::from_data(TensorData::new(pad, [shape.batch, n]), device),
            weights: Tensor::random(dims, Distribution::Normal(0.0, 1.0), device),
        }
    }

    /// The loss of one call of the layer's attention.
    fn attend(&self, shape: &Shape) -> Tensor<B, 1> {
        let out = softmax_attention(
            self.q.clone(),
            self.k.clone(),
            self.v.clone(),
            self.key_padding.clone(),
            DType::F32,
            shape.fused,
        );
        out.cast(DType::F32).mul(self.weights.clone()).sum()
    }
}
