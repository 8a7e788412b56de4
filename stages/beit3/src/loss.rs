//! Training losses: cross-entropy over classes and the official VQAv2 soft-score BCE.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, log_softmax};

/// Mean cross-entropy of `logits` against class indices (`F.cross_entropy`).
///
/// # Shapes
/// `logits`: [B, C], `labels`: [B] → [1].
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let [batch, _] = logits.dims();
    let picked = log_softmax(logits, 1).gather(1, labels.reshape([batch, 1]));
    picked.mean().neg()
}

/// The official VQAv2 loss: `BCEWithLogits(logits, targets, mean) · C` on soft scores.
///
/// # Shapes
/// `logits`: [B, C], `targets`: [B, C] in [0, 1] → [1].
pub fn vqa_bce<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 2>) -> Tensor<B, 1> {
    let [_, classes] = logits.dims();
    let per_entry = (targets.neg().add_scalar(1.0)) * logits.clone() - log_sigmoid(logits);
    per_entry.mean().mul_scalar(classes as f64)
}
