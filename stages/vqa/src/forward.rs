//! Running the model on a batch: the four options scored either as four (image, question +
//! option) sequences (`choice`, one logit each) or as one sequence holding all four (`joint`,
//! four logits). Either way the result is one row of four logits per question.

use beit3::VqaModel;
use beit3::loss::cross_entropy;
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::batches::HostBatch;

/// The batch as tensors on `device`.
pub struct DeviceBatch<B: Backend> {
    /// [n, 3, S, S]
    pub images: Tensor<B, 4>,
    /// [n · sequences, len]
    pub tokens: Tensor<B, 2, Int>,
    /// [n · sequences, len], `true` = padding.
    pub padding: Tensor<B, 2, Bool>,
    /// [n], when labelled.
    pub labels: Option<Tensor<B, 1, Int>>,
    pub sequences: usize,
}

impl<B: Backend> DeviceBatch<B> {
    pub fn new(batch: HostBatch, device: &B::Device) -> Self {
        let n = batch.rows.len();
        let s = batch.size;
        let rows = n * batch.sequences;
        let images = Tensor::from_data(TensorData::new(batch.images, [n, 3, s, s]), device);
        let tokens = Tensor::from_data(TensorData::new(batch.tokens, [rows, batch.len]), device);
        let padding = Tensor::from_data(TensorData::new(batch.padding, [rows, batch.len]), device);
        let labels = batch
            .labels
            .map(|labels| Tensor::from_data(TensorData::new(labels, [n]), device));
        Self {
            images,
            tokens,
            padding,
            labels,
            sequences: batch.sequences,
        }
    }
}

/// Logits over the four options, [n, 4].
pub fn option_logits<B: Backend>(model: &VqaModel<B>, batch: &DeviceBatch<B>) -> Tensor<B, 2> {
    let [n, c, s, _] = batch.images.dims();
    let images = if batch.sequences == 1 {
        batch.images.clone()
    } else {
        batch
            .images
            .clone()
            .unsqueeze_dim::<5>(1)
            .repeat_dim(1, batch.sequences)
            .reshape([n * batch.sequences, c, s, s])
    };
    let logits = model.forward(images, batch.tokens.clone(), batch.padding.clone());
    logits.reshape([n, 4])
}

/// Mean cross-entropy over the four options and the number of correct answers.
pub fn loss_and_correct<B: Backend>(
    logits: Tensor<B, 2>,
    labels: Tensor<B, 1, Int>,
) -> (Tensor<B, 1>, Tensor<B, 1, Int>) {
    let [n, _] = logits.dims();
    let correct = logits
        .clone()
        .argmax(1)
        .reshape([n])
        .equal(labels.clone())
        .int()
        .sum();
    (cross_entropy(logits, labels), correct)
}

/// Probabilities over the four options, [n, 4].
pub fn probabilities<B: Backend>(logits: Tensor<B, 2>) -> Tensor<B, 2> {
    softmax(logits, 1)
}
