//! The fused attention on a CubeCL backend (`burn-cuda`, `burn-wgpu` without fusion): shapes
//! checked, outputs allocated, tile sizes fitted to the device's shared memory, kernels launched.

use burn::tensor::ops::{BoolTensor, BoolTensorOps, FloatTensor, FloatTensorOps};
use burn::tensor::{DType, FloatDType, Shape, TensorMetadata};
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::{CubeCount, CubeDim};

use super::FlashKernels;
use super::kernels::{backward_kv_kernel, backward_q_kernel, forward_kernel};

/// Rows (units) per cube.
const ROWS: usize = 32;
/// The most keys (or queries) a tile stages at once.
const MAX_BLOCK: usize = 64;

/// The launch geometry of one call: cubes, units, and the tile size that fits shared memory.
struct Geometry {
    count: CubeCount,
    dim: CubeDim,
    block: usize,
    head_dim: usize,
}

impl Geometry {
    fn of<R: CubeRuntime>(q: &CubeTensor<R>) -> Geometry {
        let [batch, heads, n, head_dim] = q.shape().dims::<4>();
        let hardware = &q.client.properties().hardware;
        let rows = ROWS.min(hardware.max_cube_dim.0 as usize);
        // Two [block, head_dim] tiles and two [block] rows of f32 per cube.
        let fits = |block: usize| {
            (2 * block * head_dim + 2 * block) * 4 <= hardware.max_shared_memory_size
        };
        let mut block = MAX_BLOCK;
        while block > 1 && !fits(block) {
            block /= 2;
        }
        assert!(
            (batch * heads) as u64 <= u32::MAX as u64,
            "fused attention: batch x heads = {} is too many cubes",
            batch * heads
        );
        Geometry {
            count: CubeCount::Static(n.div_ceil(rows) as u32, (batch * heads) as u32, 1),
            dim: CubeDim::new_1d(rows as u32),
            block,
            head_dim,
        }
    }
}

fn check_shapes<R: CubeRuntime>(q: &CubeTensor<R>, k: &CubeTensor<R>, v: &CubeTensor<R>) {
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    assert!(
        qs == ks && qs == vs && qs.num_dims() == 4,
        "fused attention: q, k and v must share one [B, H, n, d] shape (q {qs:?}, k {ks:?}, v {vs:?})"
    );
    assert!(
        q.dtype == k.dtype && q.dtype == v.dtype,
        "fused attention: q, k and v must share one float type ({:?}, {:?}, {:?})",
        q.dtype,
        k.dtype,
        v.dtype
    );
}

fn empty_like<R: CubeRuntime>(t: &CubeTensor<R>, shape: Shape, dtype: DType) -> CubeTensor<R> {
    empty_device_contiguous_dtype::<R>(t.client.clone(), t.device.clone(), shape, dtype)
}

impl<R: CubeRuntime, F: FloatElement, I: IntElement, BT: BoolElement> FlashKernels
    for CubeBackend<R, F, I, BT>
{
    fn flash_attention_forward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        key_pad: BoolTensor<Self>,
        scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        check_shapes(&q, &k, &v);
        let pad = Self::bool_into_float(key_pad, FloatDType::F32);
        let [batch, heads, n, head_dim] = q.shape().dims::<4>();
        let geometry = Geometry::of(&q);
        let out = empty_like(&q, q.shape(), q.dtype);
        let lse = empty_like(&q, Shape::new([batch, heads, n]), DType::F32);
        let (client, dtype) = (q.client.clone(), q.dtype);
        forward_kernel::launch::<R>(
            &client,
            geometry.count,
            geometry.dim,
            q.into_tensor_arg(),
            k.into_tensor_arg(),
            v.into_tensor_arg(),
            pad.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            lse.clone().into_tensor_arg(),
            scale,
            head_dim,
            geometry.block,
            dtype.into(),
        );
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
        check_shapes(&q, &k, &v);
        let pad = Self::bool_into_float(key_pad, FloatDType::F32);
        // delta = rowsum(dO ∘ O), in f32: [B, H, n, 1].
        let delta = Self::float_sum_dim(
            Self::float_mul(
                Self::float_cast(grad_out.clone(), FloatDType::F32),
                Self::float_cast(out, FloatDType::F32),
            ),
            3,
        );
        let geometry = Geometry::of(&q);
        let head_dim = geometry.head_dim;
        let grad_q = empty_like(&q, q.shape(), q.dtype);
        let grad_k = empty_like(&q, q.shape(), q.dtype);
        let grad_v = empty_like(&q, q.shape(), q.dtype);
        let (client, dtype) = (q.client.clone(), q.dtype);
        backward_kv_kernel::launch::<R>(
            &client,
            geometry.count.clone(),
            geometry.dim,
            q.clone().into_tensor_arg(),
            k.clone().into_tensor_arg(),
            v.clone().into_tensor_arg(),
            pad.clone().into_tensor_arg(),
            grad_out.clone().into_tensor_arg(),
            lse.clone().into_tensor_arg(),
            delta.clone().into_tensor_arg(),
            grad_k.clone().into_tensor_arg(),
            grad_v.clone().into_tensor_arg(),
            scale,
            head_dim,
            geometry.block,
            dtype.into(),
        );
        backward_q_kernel::launch::<R>(
            &client,
            geometry.count,
            geometry.dim,
            q.into_tensor_arg(),
            k.into_tensor_arg(),
            v.into_tensor_arg(),
            pad.into_tensor_arg(),
            grad_out.into_tensor_arg(),
            lse.into_tensor_arg(),
            delta.into_tensor_arg(),
            grad_q.clone().into_tensor_arg(),
            scale,
            head_dim,
            geometry.block,
            dtype.into(),
        );
        (grad_q, grad_k, grad_v)
    }
}
