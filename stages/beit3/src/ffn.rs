//! The feed-forward network with its sub-LayerNorm (Magneto): `fc2(LN_F(gelu(fc1(x))))`.

use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::FloatDType;

use crate::activation::gelu_exact;
use crate::multiway::multiway;
use crate::precision::linear_in;

/// One expert's FFN (`ffn.{A,B}.{fc1,ffn_layernorm,fc2}` in the checkpoints).
#[derive(Module, Debug)]
pub struct Ffn<B: Backend> {
    /// D → F.
    pub fc1: Linear<B>,
    /// LayerNorm over the F hidden features, after the GELU.
    pub ffn_layernorm: LayerNorm<B>,
    /// F → D.
    pub fc2: Linear<B>,
    /// Float type of the products (`None`: the model's own); see [`crate::precision`].
    #[module(skip)]
    pub compute: Option<FloatDType>,
}

impl<B: Backend> Ffn<B> {
    /// An FFN of width `dim` and hidden width `hidden`.
    pub fn new(dim: usize, hidden: usize, eps: f64, device: &B::Device) -> Self {
        Self {
            fc1: LinearConfig::new(dim, hidden).init(device),
            ffn_layernorm: LayerNormConfig::new(hidden).with_epsilon(eps).init(device),
            fc2: LinearConfig::new(hidden, dim).init(device),
            compute: None,
        }
    }

    /// # Shapes
    /// `x`: [B, n, D] → [B, n, D].
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let h = gelu_exact(linear_in(&self.fc1, x, self.compute));
        linear_in(&self.fc2, self.ffn_layernorm.forward(h), self.compute)
    }
}

/// The FFN of both modalities (note: the expert letter sits before the sub-module in the keys).
#[derive(Module, Debug)]
pub struct MultiwayFfn<B: Backend> {
    /// The vision expert.
    pub a: Ffn<B>,
    /// The text expert.
    pub b: Ffn<B>,
}

impl<B: Backend> MultiwayFfn<B> {
    /// Two FFNs of width `dim` and hidden width `hidden`.
    pub fn new(dim: usize, hidden: usize, eps: f64, device: &B::Device) -> Self {
        Self {
            a: Ffn::new(dim, hidden, eps, device),
            b: Ffn::new(dim, hidden, eps, device),
        }
    }

    /// # Shapes
    /// `x`: [B, n, D] → [B, n, D].
    pub fn forward(&self, x: Tensor<B, 3>, split: usize) -> Tensor<B, 3> {
        multiway(x, split, |v| self.a.forward(v), |t| self.b.forward(t))
    }
}
