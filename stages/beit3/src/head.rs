//! The VQA pooler and head: vision CLS → LayerNorm → Linear+tanh → Linear(D,2D) → LayerNorm →
//! GELU → Linear(2D,C), with the number of outputs C set by the task.

use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::activation::gelu_exact;
use crate::init::reference_linear;

/// What the head predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeadTask {
    /// One score per (image, question + candidate answer) pair: C = 1.
    Choice,
    /// The four candidates scored jointly from one input: C = 4.
    Joint,
    /// Open-ended VQA over an answer vocabulary (official layout; 3129 for VQAv2).
    Vqa {
        /// Number of answer classes C.
        num_classes: usize,
    },
}

impl HeadTask {
    /// The number of outputs C.
    pub fn num_classes(self) -> usize {
        match self {
            HeadTask::Choice => 1,
            HeadTask::Joint => 4,
            HeadTask::Vqa { num_classes } => num_classes,
        }
    }
}

/// `pooler`: LayerNorm then Linear + tanh on the vision CLS.
#[derive(Module, Debug)]
pub struct Pooler<B: Backend> {
    /// LayerNorm over D (eps 1e-5).
    pub norm: LayerNorm<B>,
    /// D → D, followed by tanh.
    pub dense: Linear<B>,
}

impl<B: Backend> Pooler<B> {
    /// A pooler of width `dim`, initialised as the reference does.
    pub fn new(dim: usize, device: &B::Device) -> Self {
        Self {
            norm: LayerNormConfig::new(dim).init(device),
            dense: reference_linear(dim, dim, device),
        }
    }

    /// # Shapes
    /// `cls`: [B, D] → [B, D].
    pub fn forward(&self, cls: Tensor<B, 2>) -> Tensor<B, 2> {
        self.dense.forward(self.norm.forward(cls)).tanh()
    }
}

/// `head`: `head.0` Linear(D, 2D), `head.1` LayerNorm(2D), GELU, `head.3` Linear(2D, C).
#[derive(Module, Debug)]
pub struct VqaHead<B: Backend> {
    /// `head.0`: D → 2D.
    pub fc1: Linear<B>,
    /// `head.1`: LayerNorm over 2D (eps 1e-5).
    pub norm: LayerNorm<B>,
    /// `head.3`: 2D → C.
    pub fc2: Linear<B>,
}

impl<B: Backend> VqaHead<B> {
    /// A head of width `dim` with `num_classes` outputs, initialised as the reference does.
    pub fn new(dim: usize, num_classes: usize, device: &B::Device) -> Self {
        Self {
            fc1: reference_linear(dim, 2 * dim, device),
            norm: LayerNormConfig::new(2 * dim).init(device),
            fc2: reference_linear(2 * dim, num_classes, device),
        }
    }

    /// # Shapes
    /// `pooled`: [B, D] → [B, C].
    pub fn forward(&self, pooled: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = gelu_exact(self.norm.forward(self.fc1.forward(pooled)));
        self.fc2.forward(h)
    }
}
