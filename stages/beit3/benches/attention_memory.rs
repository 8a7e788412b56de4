//! Device memory of one training step (forward, loss, backward) of a BEiT-3 VQA model on Burn's
//! WebGPU backend (fusion on, as the trainer runs it), with the fused attention (`src/flash`) and
//! with Burn's decomposed one, one after the other in one process, on random inputs.
//!
//! ```text
//! cargo bench -p beit3 --features flash --bench attention_memory -- \
//!     BATCH EMBED DEPTH HEADS IMAGE TEXT_LEN
//! ```
//! (A bench target, not an example, so that `cargo test` does not build it: it instantiates the
//! whole model on the WebGPU backend, a minute and more of compilation.)
//! BEiT-3 large's real shapes at depth 2: `1 1024 2 16 480 64` (965 tokens). Prints, for each
//! attention, the bytes CubeCL's memory pools hold after the step (`bytes_reserved`: the pools
//! grow to the step's peak and are released only by the cleanup before the next step) and those
//! in use, and the step's time. The text vocabulary is 2000 (lavapipe cannot allocate the official
//! 64010-row embedding; its size does not change the attention).

use std::time::Instant;

use beit3::VqaModel;
use beit3::config::{Beit3Config, Preset, VqaConfig};
use beit3::head::HeadTask;
use burn::backend::Autodiff;
use burn::backend::wgpu::{WgpuDevice, WgpuRuntime};
use burn::prelude::*;
use burn::tensor::Distribution;
use cubecl::Runtime;

type W = burn::backend::Wgpu<f32, i32>;
type AW = Autodiff<W>;

fn config(args: &[usize]) -> VqaConfig {
    let [_, embed, depth, heads, image, _] = args else {
        panic!("usage: attention_memory BATCH EMBED DEPTH HEADS IMAGE TEXT_LEN");
    };
    VqaConfig {
        encoder: Beit3Config {
            embed_dim: *embed,
            depth: *depth,
            num_heads: *heads,
            ffn_dim: 4 * embed,
            vocab_size: 2000,
            ..Preset::Large.config(*image)
        },
        task: HeadTask::Joint,
    }
}

/// One step; returns (reserved bytes, bytes in use, seconds).
fn step(
    model: &VqaModel<AW>,
    batch: usize,
    image: usize,
    text: usize,
    device: &WgpuDevice,
) -> (u64, u64, f64) {
    let client = WgpuRuntime::client(device);
    W::sync(device).expect("sync");
    W::memory_cleanup(device);
    let started = Instant::now();
    let pixels = Tensor::<AW, 4>::random(
        [batch, 3, image, image],
        Distribution::Uniform(-1.0, 1.0),
        device,
    );
    let question =
        Tensor::<AW, 2, Int>::random([batch, text], Distribution::Uniform(0.0, 1999.0), device);
    let padding = Tensor::<AW, 2, Bool>::from_data(
        TensorData::new(
            (0..batch * text)
                .map(|i| i % text >= text * 3 / 4)
                .collect::<Vec<_>>(),
            [batch, text],
        ),
        device,
    );
    let logits = model.forward_detailed(pixels, question, padding).logits;
    let grads = logits.powi_scalar(2).mean().backward();
    drop(grads);
    W::sync(device).expect("sync");
    let usage = client.memory_usage().expect("memory usage");
    (
        usage.bytes_reserved,
        usage.bytes_in_use,
        started.elapsed().as_secs_f64(),
    )
}

fn main() {
    // `cargo bench` adds `--bench`.
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse().expect("a number"))
        .collect();
    let config = config(&args);
    let (batch, image, text) = (args[0], args[4], args[5]);
    let device = WgpuDevice::default();
    beit3::flash::register::<AW>();
    let mut model = VqaModel::<AW>::new(&config, &device).expect("valid config");
    let tokens = config.encoder.vision_tokens() + text;
    println!(
        "batch {batch}, D {}, depth {}, {} heads, {tokens} tokens",
        args[1], args[2], args[3]
    );
    for (name, fused) in [
        ("decomposed", false),
        ("fused", true),
        ("decomposed", false),
        ("fused", true),
    ] {
        model.set_fused_attention(fused);
        let (reserved, in_use, seconds) = step(&model, batch, image, text, &device);
        println!(
            "{name:<10} reserved {:>8.1} MiB  in use {:>8.1} MiB  step {seconds:.1} s",
            reserved as f64 / 1048576.0,
            in_use as f64 / 1048576.0
        );
    }
}
