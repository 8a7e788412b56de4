//! Stochastic depth: drops a whole residual branch per sample (timm `drop_path`).

use burn::prelude::*;
use burn::tensor::Distribution;

/// Drops the residual branch of each sample with probability `prob`, scaling kept ones by
/// `1 / (1 - prob)`. Active only on an autodiff backend (training), like Burn's `Dropout`.
#[derive(Module, Clone, Debug)]
pub struct DropPath {
    /// Probability of dropping a sample's branch.
    pub prob: f64,
}

impl DropPath {
    /// A drop path with probability `prob`.
    pub fn new(prob: f64) -> Self {
        Self { prob }
    }

    /// Applies the per-sample mask (a fresh draw at every call).
    ///
    /// # Shapes
    /// `x`: [B, n, D] → [B, n, D].
    pub fn forward<B: Backend>(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let device = x.device();
        if self.prob == 0.0 || !B::ad_enabled(&device) {
            return x;
        }
        let keep = 1.0 - self.prob;
        let [batch, _, _] = x.dims();
        let mask = Tensor::<B, 3>::random([batch, 1, 1], Distribution::Bernoulli(keep), &device);
        x * mask.div_scalar(keep)
    }
}
