//! Where a stage computes: `device = "cpu"` (Burn's Flex backend), `"cuda"` (the first GPU the
//! engine granted the stage, else GPU 0) or `"cuda:N"` (Burn's CUDA backend, with kernel fusion
//! and autotuning; needs a binary built with the `cuda` feature), or `"wgpu"` (Burn's WebGPU
//! backend on the default Vulkan/Metal/DX12 adapter, the same CubeCL fusion and autotuning; the
//! `wgpu` feature), and at which precision.

use std::fmt;

use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::tensor::FloatDType;
use burn::tensor::backend::{AutodiffBackend, Backend};
use pipeline_api::StageError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A compute device named in a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(with = "String")]
pub enum DeviceSpec {
    Cpu,
    /// A CUDA GPU by index; `None` takes the first GPU granted to the stage.
    Cuda(Option<usize>),
    /// The default WebGPU adapter (a Vulkan GPU, or Mesa's lavapipe on the CPU).
    Wgpu,
}

impl TryFrom<String> for DeviceSpec {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(None)),
            "wgpu" => Ok(DeviceSpec::Wgpu),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(|n| DeviceSpec::Cuda(Some(n)))
                .ok_or_else(|| {
                    format!(
                        "unknown device `{other}`: use \"cpu\", \"cuda\", \"cuda:N\" or \"wgpu\""
                    )
                }),
        }
    }
}

impl From<DeviceSpec> for String {
    fn from(spec: DeviceSpec) -> String {
        spec.to_string()
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(None) => f.write_str("cuda"),
            DeviceSpec::Cuda(Some(n)) => write!(f, "cuda:{n}"),
            DeviceSpec::Wgpu => f.write_str("wgpu"),
        }
    }
}

/// Floating-point precision of the heavy computations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    #[default]
    F32,
    /// bfloat16 matrix products with f32 weights, norms, softmax and loss (CUDA, and the CPU
    /// through Flex; WGSL has no bf16).
    Bf16,
}

impl Precision {
    /// The float type of the encoder's products (`None`: the parameters' own, f32).
    pub fn compute_dtype(self) -> Option<FloatDType> {
        match self {
            Precision::F32 => None,
            Precision::Bf16 => Some(FloatDType::BF16),
        }
    }
}

/// Work that runs on whichever backend the device selects.
pub trait OnBackend {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// The CPU backend; `dispatch` wraps it in the autodiff layer the job asks for. Flex (gemm
/// products, SIMD element-wise kernels, native bf16) trains the demo's models 1.5-1.7x faster
/// than NdArray (BENCHMARKS.md, 2026-12-06), and runs `precision = "bf16"`.
pub type CpuBackend = burn::backend::Flex;

/// Where and how a job computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compute {
    pub device: DeviceSpec,
    pub precision: Precision,
    /// Recompute cheap activations in the backward pass instead of keeping them (less memory).
    pub recompute: bool,
}

/// Runs `job` where `compute` says; `granted` are the GPU ids the engine gave the stage.
pub fn dispatch<J: OnBackend>(
    compute: Compute,
    granted: &[u32],
    job: J,
) -> Result<J::Output, StageError> {
    match (compute.device, compute.precision) {
        (DeviceSpec::Cpu, Precision::F32) => Ok(with_autodiff::<CpuBackend, J>(
            compute.recompute,
            Default::default(),
            job,
        )),
        // Flex holds bf16 natively: the model casts its products as on CUDA.
        (DeviceSpec::Cpu, Precision::Bf16) => Ok(with_autodiff::<CpuBackend, J>(
            compute.recompute,
            Default::default(),
            job,
        )),
        (DeviceSpec::Cuda(index), _) => cuda(index, compute.recompute, granted, job),
        (DeviceSpec::Wgpu, _) => wgpu(compute.recompute, job),
    }
}

/// `job` on `B` with gradients, keeping every activation or recomputing the cheap ones.
fn with_autodiff<B: Backend, J: OnBackend>(
    recompute: bool,
    device: B::Device,
    job: J,
) -> J::Output {
    use burn::backend::Autodiff;
    if recompute {
        job.run::<Autodiff<B, BalancedCheckpointing>>(device)
    } else {
        job.run::<Autodiff<B>>(device)
    }
}

/// The model's attention on GPU backend `B`, with or without autodiff and recomputation, is the
/// fused one from now on (`beit3::flash`: O(n) memory instead of the n x n scores per layer).
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn register_fused<B: beit3::flash::FlashKernels + beit3::flash::FlashAttention>() {
    use burn::backend::Autodiff;
    beit3::flash::register::<B>();
    beit3::flash::register::<Autodiff<B>>();
    beit3::flash::register::<Autodiff<B, BalancedCheckpointing>>();
}

/// On CUDA the parameters stay f32 for both precisions: bf16 is applied by the model to its
/// products (`Precision::compute_dtype`).
#[cfg(feature = "cuda")]
fn cuda<J: OnBackend>(
    index: Option<usize>,
    recompute: bool,
    granted: &[u32],
    job: J,
) -> Result<J::Output, StageError> {
    let index = index.unwrap_or_else(|| granted.first().map_or(0, |&g| g as usize));
    let device = burn::backend::cuda::CudaDevice::new(index);
    register_fused::<burn::backend::Cuda<f32, i32>>();
    Ok(with_autodiff::<burn::backend::Cuda<f32, i32>, J>(
        recompute, device, job,
    ))
}

#[cfg(not(feature = "cuda"))]
fn cuda<J: OnBackend>(
    _index: Option<usize>,
    _recompute: bool,
    _granted: &[u32],
    _job: J,
) -> Result<J::Output, StageError> {
    Err(StageError::failed(
        "this `pipeline` was built without CUDA: rebuild with `cargo build --release --features cuda`, \
         or set `device = \"cpu\"`",
    ))
}

/// The default WebGPU adapter, parameters in f32 (WGSL has no bf16: `Precision::Bf16` casts to
/// a type the adapter lacks and fails at the first kernel).
#[cfg(feature = "wgpu")]
fn wgpu<J: OnBackend>(recompute: bool, job: J) -> Result<J::Output, StageError> {
    let device = burn::backend::wgpu::WgpuDevice::default();
    register_fused::<burn::backend::Wgpu<f32, i32>>();
    Ok(with_autodiff::<burn::backend::Wgpu<f32, i32>, J>(
        recompute, device, job,
    ))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu<J: OnBackend>(_recompute: bool, _job: J) -> Result<J::Output, StageError> {
    Err(StageError::failed(
        "this `pipeline` was built without WebGPU: rebuild with `cargo build --release --features wgpu`, \
         or set `device = \"cpu\"`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        let parse = |s: &str| DeviceSpec::try_from(s.to_string());
        assert_eq!(parse("cpu"), Ok(DeviceSpec::Cpu));
        assert_eq!(parse("cuda"), Ok(DeviceSpec::Cuda(None)));
        assert_eq!(parse("cuda:3"), Ok(DeviceSpec::Cuda(Some(3))));
        assert_eq!(parse("wgpu"), Ok(DeviceSpec::Wgpu));
        assert!(parse("cuda:x").unwrap_err().contains("cuda:N"));
        assert!(parse("tpu").is_err());
        assert_eq!(String::from(DeviceSpec::Cuda(Some(1))), "cuda:1");
    }
}
