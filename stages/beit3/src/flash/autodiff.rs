//! The fused attention under autodiff: the forward keeps only q, k, v (as checkpoints), the output
//! and each row's log-sum-exp; the backward recomputes the scores from them, tile by tile.

use std::fmt::Debug;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::tensor::ops::{BoolTensor, FloatTensor};

use super::{FlashAttention, FlashKernels};

/// What the backward needs: q, k, v by checkpoint, the mask, the output, the log-sum-exp, the
/// scale.
type Saved<B> = (
    NodeId,
    NodeId,
    NodeId,
    BoolTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    f32,
);

#[derive(Debug)]
struct FlashBackward;

impl<B: FlashKernels> Backward<B, 3> for FlashBackward {
    type State = Saved<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_q, node_k, node_v] = ops.parents;
        let grad_out = grads.consume::<B>(&ops.node);
        let (q, k, v, key_pad, out, lse, scale) = ops.state;
        let q: FloatTensor<B> = checkpointer.retrieve_node_output(q);
        let k: FloatTensor<B> = checkpointer.retrieve_node_output(k);
        let v: FloatTensor<B> = checkpointer.retrieve_node_output(v);
        let (grad_q, grad_k, grad_v) =
            B::flash_attention_backward(q, k, v, key_pad, out, lse, grad_out, scale);
        for (node, grad) in [(node_q, grad_q), (node_k, grad_k), (node_v, grad_v)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: FlashKernels, C: CheckpointStrategy> FlashAttention for Autodiff<B, C> {
    fn flash_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        let parents = [q.node.clone(), k.node.clone(), v.node.clone()];
        match FlashBackward
            .prepare::<C>(parents)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let (qi, ki, vi) = (
                    prep.checkpoint(&q),
                    prep.checkpoint(&k),
                    prep.checkpoint(&v),
                );
                let (out, lse) = B::flash_attention_forward(
                    q.primitive,
                    k.primitive,
                    v.primitive,
                    key_pad.clone(),
                    scale,
                );
                prep.finish((qi, ki, vi, key_pad, out.clone(), lse, scale), out)
            }
            OpsKind::UnTracked(prep) => {
                let (out, _) = B::flash_attention_forward(
                    q.primitive,
                    k.primitive,
                    v.primitive,
                    key_pad,
                    scale,
                );
                prep.finish(out)
            }
        }
    }
}
