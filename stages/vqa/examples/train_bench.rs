//! Training throughput of a BEiT-3 VQA model on the CPU backend: the train stage's own step
//! (forward, cross-entropy over the four options, backward, global-norm clipping, grouped AdamW)
//! on random inputs of a fixed shape, timed after warm-up steps.
//!
//! ```text
//! cargo run --release -p pipeline-stages-vqa --example train_bench -- \
//!     HEAD STEPS BATCH EMBED DEPTH HEADS FFN PATCH IMAGE TEXT_LEN
//! ```
//! prints `questions=N seconds=T questions_per_s=R`. Run by benches/train/run.sh beside the same
//! model in PyTorch (benches/train/torch_bench.py). Threads: `RAYON_NUM_THREADS`.

use std::time::Instant;

use beit3::VqaModel;
use burn::optim::GradientsParams;
use pipeline_api::rng::Rng;
use pipeline_stages_vqa::architecture::{CustomDims, Head, ModelSpec, vqa_config};
use pipeline_stages_vqa::batches::HostBatch;
use pipeline_stages_vqa::device::CpuBackend;
use pipeline_stages_vqa::forward::{DeviceBatch, loss_and_correct, option_logits};
use pipeline_stages_vqa::optim::{AdamWSettings, GroupRule, GroupedAdamW, clip_global_norm};

const WARMUP_STEPS: usize = 3;

struct Shape {
    head: Head,
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
    Shape {
        head,
        steps: n(1),
        batch: n(2),
        dims: CustomDims {
            embed_dim: n(3),
            depth: n(4),
            num_heads: n(5),
            ffn_dim: n(6),
            patch_size: n(7),
            vocab_size: 2000,
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
    let device = Default::default();
    let config = vqa_config(&ModelSpec::Custom(shape.dims.clone()), shape.image, shape.head, 0.0)
        .expect("a valid model configuration");
    let mut model = VqaModel::<CpuBackend>::new(&config, &device).expect("model");
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
    let mut rng = Rng::new(0);
    let mut started = Instant::now();
    for step in 0..WARMUP_STEPS + shape.steps {
        if step == WARMUP_STEPS {
            started = Instant::now();
        }
        let batch = DeviceBatch::<CpuBackend>::new(random_batch(&shape, &mut rng), &device);
        let labels = batch.labels.clone().expect("labelled");
        let (loss, _) = loss_and_correct(option_logits(&model, &batch), labels);
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        clip_global_norm(&model, &mut grads, Some(1.0));
        model = optimizer.step(1e-4, model, grads);
    }
    let seconds = started.elapsed().as_secs_f64();
    let questions = shape.steps * shape.batch;
    println!(
        "questions={questions} seconds={seconds:.3} questions_per_s={:.1}",
        questions as f64 / seconds
    );
}
