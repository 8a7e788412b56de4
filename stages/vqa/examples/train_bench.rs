//! Training and prediction throughput of a BEiT-3 VQA model: the train stage's own step
//! (forward, cross-entropy over the four options, backward, global-norm clipping, grouped AdamW),
//! or a forward pass without gradients, on random inputs of a fixed shape, timed after warm-up
//! steps, on the CPU or a CUDA GPU.
//!
//! ```text
//! cargo run --release -p pipeline-stages-vqa --example train_bench -- \
//!     HEAD STEPS BATCH EMBED DEPTH HEADS FFN PATCH IMAGE TEXT_LEN
//! ```
//! prints `questions=N seconds=T questions_per_s=R`. Run by benches/train/run.sh beside the same
//! model in PyTorch (benches/train/torch_bench.py), and by scripts/gpu_check.sh on a GPU.
//! Environment: `DEVICE` (`cpu`, `cuda`, `cuda:N`), `PRECISION` (`f32`, `bf16`), `RECOMPUTE=1`
//! (recompute activations), `MODE` (`train`, `predict`), `VOCAB` (text vocabulary, 2000; the
//! official models have 64010), `RAYON_NUM_THREADS` (CPU threads), `CPU_BACKEND` (`ndarray`,
//! `flex`: Burn's CPU backend for `DEVICE=cpu`; unset, the stage's own, `device::CpuBackend`;
//! set, any `PRECISION` is run on it, bf16 included), `FUSED` (`1`, the default: the fused
//! attention where the device has it, as the train stage runs; `0`: Burn's decomposed one).

use std::time::Instant;

use beit3::VqaModel;
use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::backend::{Autodiff, Flex, NdArray};
use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use pipeline_api::rng::Rng;
use pipeline_stages_vqa::architecture::{CustomDims, Head, ModelSpec, vqa_config};
use pipeline_stages_vqa::batches::HostBatch;
use pipeline_stages_vqa::device::{Compute, DeviceSpec, OnBackend, Precision, dispatch};
use pipeline_stages_vqa::forward::{DeviceBatch, loss_and_correct, option_logits};
use pipeline_stages_vqa::optim::{AdamWSettings, GroupRule, GroupedAdamW, clip_global_norm};

const WARMUP_STEPS: usize = 3;

struct Shape {
    predict: bool,
    precision: Precision,
    head: Head,
    fused: bool,
    steps: usize,
    batch: usize,
    dims: CustomDims,
    image: usize,
    text_len: usize,
}

fn parse_args() -> Shape {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "HEAD STEPS BATCH EMBED DEPTH HEADS FFN PATCH IMAGE TEXT_LEN";
    assert_eq!(args.len(), 10, "usage: train_bench {usage}");
    let n = |i: usize| -> usize {
        args[i]
            .parse()
            .unwrap_or_else(|_| panic!("argument {} ({}) is not a number", i + 1, args[i]))
    };
    let head = match args[0].as_str() {
        "choice" => Head::Choice,
        "joint" => Head::Joint,
        other => panic!("HEAD is choice or joint, not {other}"),
    };
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let predict = match env("MODE", "train").as_str() {
        "train" => false,
        "predict" => true,
        other => panic!("MODE is train or predict, not {other}"),
    };
    let precision = match env("PRECISION", "f32").as_str() {
        "f32" => Precision::F32,
        "bf16" => Precision::Bf16,
        other => panic!("PRECISION is f32 or bf16, not {other}"),
    };
    let vocab_size = env("VOCAB", "2000").parse().expect("VOCAB is a number");
    let fused = match env("FUSED", "1").as_str() {
        "1" => true,
        "0" => false,
        other => panic!("FUSED is 1 or 0, not {other}"),
    };
    Shape {
        predict,
        precision,
        head,
        fused,
        steps: n(1),
        batch: n(2),
        dims: CustomDims {
            embed_dim: n(3),
            depth: n(4),
            num_heads: n(5),
            ffn_dim: n(6),
            patch_size: n(7),
            vocab_size,
            max_text_positions: n(9) + 2,
        },
        image: n(8),
        text_len: n(9),
    }
}

/// A batch of random pixels and tokens, every sequence `text_len` long (no padding).
fn random_batch(shape: &Shape, rng: &mut Rng) -> HostBatch {
    let sequences = shape.head.sequences();
    let (n, s) = (shape.batch, shape.image);
    let tokens = (0..n * sequences * shape.text_len)
        .map(|_| 3 + rng.index(shape.dims.vocab_size - 3) as i32)
        .collect();
    HostBatch {
        rows: (0..n).collect(),
        size: s,
        images: (0..n * 3 * s * s)
            .map(|_| rng.uniform(-1.0, 1.0) as f32)
            .collect(),
        sequences,
        len: shape.text_len,
        tokens,
        padding: vec![false; n * sequences * shape.text_len],
        labels: Some((0..n).map(|_| rng.index(4) as i64).collect()),
    }
}

fn main() {
    let shape = parse_args();
    let env = |name: &str| std::env::var(name).ok();
    let compute = Compute {
        device: DeviceSpec::try_from(env("DEVICE").unwrap_or_else(|| "cpu".into()))
            .unwrap_or_else(|e| panic!("DEVICE: {e}")),
        precision: shape.precision,
        recompute: env("RECOMPUTE").is_some_and(|v| v == "1"),
    };
    let bench = Bench(&shape);
    let seconds = match (compute.device, env("CPU_BACKEND").as_deref()) {
        (_, None) => dispatch(compute, &[], bench).unwrap_or_else(|e| panic!("{e}")),
        (DeviceSpec::Cpu, Some("ndarray")) => on_cpu::<NdArray<f32>>(compute.recompute, bench),
        (DeviceSpec::Cpu, Some("flex")) => on_cpu::<Flex>(compute.recompute, bench),
        (DeviceSpec::Cpu, Some(other)) => panic!("CPU_BACKEND is ndarray or flex, not {other}"),
        (device, Some(_)) => panic!("CPU_BACKEND needs DEVICE=cpu, not {device}"),
    };
    let questions = shape.steps * shape.batch;
    println!(
        "questions={questions} seconds={seconds:.3} questions_per_s={:.1}",
        questions as f64 / seconds
    );
}

/// `bench` on the CPU backend `B` with gradients, as `dispatch` runs a CPU job, but on the
/// backend named here rather than the stage's.
fn on_cpu<B: Backend>(recompute: bool, bench: Bench) -> f64
where
    B::Device: Default,
{
    if recompute {
        bench.run::<Autodiff<B, BalancedCheckpointing>>(Default::default())
    } else {
        bench.run::<Autodiff<B>>(Default::default())
    }
}

struct Bench<'a>(&'a Shape);

impl OnBackend for Bench<'_> {
    type Output = f64;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> f64 {
        let shape = self.0;
        let config = vqa_config(
            &ModelSpec::Custom(shape.dims.clone()),
            shape.image,
            shape.head,
            0.0,
        )
        .expect("a valid model configuration");
        let mut model = VqaModel::<B>::new(&config, &device).expect("model");
        model.set_compute(shape.precision.compute_dtype());
        model.set_fused_attention(shape.fused);
        if shape.predict {
            predict(shape, model.valid(), &device)
        } else {
            train(shape, model, &device)
        }
    }
}

/// Seconds for `shape.steps` training steps after the warm-up ones.
fn train<B: AutodiffBackend>(shape: &Shape, model: VqaModel<B>, device: &B::Device) -> f64 {
    let rule = GroupRule {
        depth: shape.dims.depth,
        layer_decay: 1.0,
        head_lr_scale: 1.0,
    };
    let settings = AdamWSettings {
        beta_1: 0.9,
        beta_2: 0.98,
        epsilon: 1e-8,
        weight_decay: 0.05,
    };
    let mut optimizer = GroupedAdamW::new(rule, &settings);
    // Each step consumes the model and returns the updated one.
    let mut model = Some(model);
    timed(shape, device, |batch| {
        let current = model.take().expect("the model is put back after each step");
        let labels = batch.labels.clone().expect("labelled");
        let (loss, _) = loss_and_correct(option_logits(&current, &batch), labels);
        let mut grads = GradientsParams::from_grads(loss.backward(), &current);
        clip_global_norm(&current, &mut grads, Some(1.0));
        model = Some(optimizer.step(1e-4, current, grads));
    })
}

/// Seconds for `shape.steps` forward passes without gradients after the warm-up ones.
fn predict<B: Backend>(shape: &Shape, model: VqaModel<B>, device: &B::Device) -> f64 {
    timed(shape, device, |batch| {
        let logits = option_logits(&model, &batch);
        // Reading one value waits for the batch, as a prediction loop that writes scores does.
        let _ = logits.slice([0..1, 0..1]).into_data();
    })
}

/// Runs `step` on `WARMUP_STEPS + shape.steps` random batches and returns the seconds the last
/// `shape.steps` took, the device synchronised at both ends. With `STEP_LOG=1` the device is also
/// synchronised after every step, whose seconds go to stderr as `step=N seconds=S` (step 1 holds
/// the kernel compilation and autotuning of a GPU backend).
fn timed<B: Backend>(
    shape: &Shape,
    device: &B::Device,
    mut step: impl FnMut(DeviceBatch<B>),
) -> f64 {
    let step_log = std::env::var("STEP_LOG").is_ok_and(|v| v == "1");
    let mut rng = Rng::new(0);
    let mut started = Instant::now();
    for index in 0..WARMUP_STEPS + shape.steps {
        if index == WARMUP_STEPS {
            B::sync(device).expect("device sync");
            started = Instant::now();
        }
        let step_started = Instant::now();
        step(DeviceBatch::<B>::new(random_batch(shape, &mut rng), device));
        if step_log {
            B::sync(device).expect("device sync");
            let seconds = step_started.elapsed().as_secs_f64();
            eprintln!("step={} seconds={seconds:.3}", index + 1);
        }
    }
    B::sync(device).expect("device sync");
    started.elapsed().as_secs_f64()
}
