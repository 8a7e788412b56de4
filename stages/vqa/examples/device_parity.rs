//! The BEiT-3 parity fixture (`tests/fixtures/beit3/vqa_tiny`: an official-layout checkpoint,
//! inputs, and torchscale's outputs) run on a chosen device: the same check as the CPU test
//! `vqa_tiny_logits_match_reference`, for the CUDA backend on a GPU host.
//!
//! ```text
//! DEVICE=cuda PRECISION=f32 TOL=1e-3 BEIT3_FIXTURES=tests/fixtures/beit3 device_parity
//! ```
//! prints the largest absolute difference of the encoder output, pooler output and logits, and
//! exits with 1 when the logits differ by more than `TOL`. `BEIT3_FIXTURES` defaults to the
//! fixtures of the source tree the binary was built from.

#[path = "../../beit3/tests/common/mod.rs"]
mod common;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use common::{fixture_model, forward_on_inputs, max_diff, read};
use pipeline_stages_vqa::device::{Compute, DeviceSpec, OnBackend, Precision, dispatch};

struct Parity {
    precision: Precision,
}

impl OnBackend for Parity {
    /// (name, largest |difference|) per compared output.
    type Output = Vec<(&'static str, f32)>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let mut model = fixture_model::<B>("vqa_tiny", &device);
        model.set_compute(self.precision.compute_dtype());
        let model = model.valid();
        let expected = read("vqa_tiny", "outputs.safetensors");
        let out = forward_on_inputs(&model, "vqa_tiny", &device);
        vec![
            (
                "encoder_out",
                max_diff(out.encoder_out, &expected["encoder_out"]),
            ),
            ("pooled", max_diff(out.pooled, &expected["pooled"])),
            ("logits", max_diff(out.logits, &expected["logits"])),
        ]
    }
}

fn main() {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let precision = match env("PRECISION", "f32").as_str() {
        "f32" => Precision::F32,
        "bf16" => Precision::Bf16,
        other => panic!("PRECISION is f32 or bf16, not {other}"),
    };
    let compute = Compute {
        device: DeviceSpec::try_from(env("DEVICE", "cpu")).unwrap_or_else(|e| panic!("{e}")),
        precision,
        recompute: false,
    };
    let tol: f32 = env("TOL", "1e-3").parse().expect("TOL is a number");
    let diffs = dispatch(compute, &[], Parity { precision }).unwrap_or_else(|e| panic!("{e}"));
    let device = compute.device;
    for (name, diff) in &diffs {
        println!(
            "device={device} precision={} {name} max_abs_diff={diff:e}",
            env("PRECISION", "f32")
        );
    }
    let logits = diffs
        .iter()
        .find(|(n, _)| *n == "logits")
        .map_or(f32::INFINITY, |d| d.1);
    if logits > tol {
        eprintln!("logits differ from the reference by {logits:e} > {tol:e}");
        std::process::exit(1);
    }
}
