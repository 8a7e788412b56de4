//! The multiway rule: vision tokens go through expert A, text tokens through expert B.
//!
//! The split position is the number of vision tokens (CLS + patches). Position 0 sends every
//! token to B, a position at or past the end sends every token to A.

use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::FloatDType;

use crate::precision::{linear_in, linear_to_compute};

/// Applies `a` to the tokens before `split` and `b` to the rest, and joins the results.
///
/// # Shapes
/// `x`: [B, n, D_in] → [B, n, D_out].
pub fn multiway<B, FA, FB>(x: Tensor<B, 3>, split: usize, a: FA, b: FB) -> Tensor<B, 3>
where
    B: Backend,
    FA: FnOnce(Tensor<B, 3>) -> Tensor<B, 3>,
    FB: FnOnce(Tensor<B, 3>) -> Tensor<B, 3>,
{
    let [batch, n, dim] = x.dims();
    if split == 0 {
        return b(x);
    }
    if split >= n {
        return a(x);
    }
    let vision = x.clone().slice([0..batch, 0..split, 0..dim]);
    let text = x.slice([0..batch, split..n, 0..dim]);
    Tensor::cat(vec![a(vision), b(text)], 1)
}

/// A Linear layer per modality (`{name}.A` / `{name}.B` in the checkpoints).
#[derive(Module, Debug)]
pub struct MultiwayLinear<B: Backend> {
    /// The vision expert.
    pub a: Linear<B>,
    /// The text expert.
    pub b: Linear<B>,
    /// Float type of the products (`None`: the model's own); see [`crate::precision`].
    #[module(skip)]
    pub compute: Option<FloatDType>,
}

impl<B: Backend> MultiwayLinear<B> {
    /// Two `d_in → d_out` Linear layers with bias.
    pub fn new(d_in: usize, d_out: usize, device: &B::Device) -> Self {
        let lin = || LinearConfig::new(d_in, d_out).init(device);
        Self {
            a: lin(),
            b: lin(),
            compute: None,
        }
    }

    /// # Shapes
    /// `x`: [B, n, d_in] → [B, n, d_out].
    pub fn forward(&self, x: Tensor<B, 3>, split: usize) -> Tensor<B, 3> {
        let c = self.compute;
        multiway(
            x,
            split,
            |v| linear_in(&self.a, v, c),
            |t| linear_in(&self.b, t, c),
        )
    }

    /// Like [`Self::forward`], but the result stays in the compute type (for the attention's
    /// q, k, v, which go straight into the next products).
    ///
    /// # Shapes
    /// `x`: [B, n, d_in] → [B, n, d_out].
    pub fn forward_to_compute(&self, x: Tensor<B, 3>, split: usize) -> Tensor<B, 3> {
        let c = self.compute;
        let (a, b) = (&self.a, &self.b);
        multiway(
            x,
            split,
            |v| linear_to_compute(a, v, c),
            |t| linear_to_compute(b, t, c),
        )
    }
}

/// A LayerNorm per modality.
#[derive(Module, Debug)]
pub struct MultiwayNorm<B: Backend> {
    /// The vision expert.
    pub a: LayerNorm<B>,
    /// The text expert.
    pub b: LayerNorm<B>,
}

impl<B: Backend> MultiwayNorm<B> {
    /// Two LayerNorms over `dim` features with epsilon `eps`.
    pub fn new(dim: usize, eps: f64, device: &B::Device) -> Self {
        let norm = || LayerNormConfig::new(dim).with_epsilon(eps).init(device);
        Self {
            a: norm(),
            b: norm(),
        }
    }

    /// # Shapes
    /// `x`: [B, n, dim] → [B, n, dim].
    pub fn forward(&self, x: Tensor<B, 3>, split: usize) -> Tensor<B, 3> {
        multiway(x, split, |v| self.a.forward(v), |t| self.b.forward(t))
    }
}
