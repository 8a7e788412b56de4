//! The fused attention on a backend with kernel fusion (`burn-cuda` and `burn-wgpu` as the model
//! runs them): each kernel call enters the fusion stream as a custom operation, which ends the
//! fused block before it and runs the CubeCL kernels on the resolved tensors, with no sync.

use std::marker::PhantomData;

use burn::tensor::ops::{BoolTensor, FloatTensor};
use burn::tensor::{DType, Shape};
use burn_fusion::stream::{Operation, OperationStreams};
use burn_fusion::{Fusion, FusionBackend, FusionRuntime};
use burn_ir::{CustomOpIr, HandleContainer, OperationIr, OperationOutput, TensorIr};

use super::FlashKernels;

type Handles<B> =
    HandleContainer<<<B as FusionBackend>::FusionRuntime as FusionRuntime>::FusionHandle>;

/// The forward as a stream operation: inputs q, k, v, mask; outputs out, lse.
#[derive(Debug)]
struct ForwardOp<B> {
    desc: CustomOpIr,
    scale: f32,
    backend: PhantomData<B>,
}

impl<B: FusionBackend + FlashKernels> Operation<B::FusionRuntime> for ForwardOp<B> {
    fn execute(&self, handles: &mut Handles<B>) {
        let ([q, k, v, pad], [out, lse]) = self.desc.as_fixed();
        let (o, l) = B::flash_attention_forward(
            handles.get_float_tensor::<B>(q),
            handles.get_float_tensor::<B>(k),
            handles.get_float_tensor::<B>(v),
            handles.get_bool_tensor::<B>(pad),
            self.scale,
        );
        handles.register_float_tensor::<B>(&out.id, o);
        handles.register_float_tensor::<B>(&lse.id, l);
    }
}

/// The backward as a stream operation: inputs q, k, v, mask, out, lse, dO; outputs dq, dk, dv.
#[derive(Debug)]
struct BackwardOp<B> {
    desc: CustomOpIr,
    scale: f32,
    backend: PhantomData<B>,
}

impl<B: FusionBackend + FlashKernels> Operation<B::FusionRuntime> for BackwardOp<B> {
    fn execute(&self, handles: &mut Handles<B>) {
        let ([q, k, v, pad, out, lse, grad_out], [dq, dk, dv]) = self.desc.as_fixed();
        let (gq, gk, gv) = B::flash_attention_backward(
            handles.get_float_tensor::<B>(q),
            handles.get_float_tensor::<B>(k),
            handles.get_float_tensor::<B>(v),
            handles.get_bool_tensor::<B>(pad),
            handles.get_float_tensor::<B>(out),
            handles.get_float_tensor::<B>(lse),
            handles.get_float_tensor::<B>(grad_out),
            self.scale,
        );
        handles.register_float_tensor::<B>(&dq.id, gq);
        handles.register_float_tensor::<B>(&dk.id, gk);
        handles.register_float_tensor::<B>(&dv.id, gv);
    }
}

impl<B: FusionBackend + FlashKernels> FlashKernels for Fusion<B> {
    fn flash_attention_forward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let client = q.client.clone();
        let [batch, heads, n, _] = q.shape.dims::<4>();
        let streams = OperationStreams::with_inputs([&q, &k, &v, &key_pad]);
        let out = TensorIr::uninit(client.create_empty_handle(), q.shape.clone(), q.dtype);
        let lse = TensorIr::uninit(
            client.create_empty_handle(),
            Shape::new([batch, heads, n]),
            DType::F32,
        );
        let inputs = [q.into_ir(), k.into_ir(), v.into_ir(), key_pad.into_ir()];
        let desc = CustomOpIr::new("beit3_flash_attention_forward", &inputs, &[out, lse]);
        let op = ForwardOp::<B> {
            desc: desc.clone(),
            scale,
            backend: PhantomData,
        };
        let [out, lse] = client
            .register(streams, OperationIr::Custom(desc), op)
            .outputs();
        (out, lse)
    }

    fn flash_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let client = q.client.clone();
        let streams = OperationStreams::with_inputs([&q, &k, &v, &key_pad, &out, &lse, &grad_out]);
        let grads = [(); 3]
            .map(|()| TensorIr::uninit(client.create_empty_handle(), q.shape.clone(), q.dtype));
        let inputs = [
            q.into_ir(),
            k.into_ir(),
            v.into_ir(),
            key_pad.into_ir(),
            out.into_ir(),
            lse.into_ir(),
            grad_out.into_ir(),
        ];
        let desc = CustomOpIr::new("beit3_flash_attention_backward", &inputs, &grads);
        let op = BackwardOp::<B> {
            desc: desc.clone(),
            scale,
            backend: PhantomData,
        };
        let [dq, dk, dv] = client
            .register(streams, OperationIr::Custom(desc), op)
            .outputs();
        (dq, dk, dv)
    }
}
