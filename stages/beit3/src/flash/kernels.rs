//! The three CubeCL kernels of the fused attention, in the manner of FlashAttention-2, written for
//! portability (CUDA, and WGSL through wgpu) rather than peak speed: plain loops, no tensor cores,
//! no atomics. Every unit owns one row (a query row forward and for dQ, a key row for dK and dV)
//! and its cube walks the other side in tiles staged in shared memory. Nothing of size n x n is
//! ever stored: the forward saves the output and each row's log-sum-exp, and the backward
//! recomputes each score from them.
//!
//! Conventions: q, k, v, the output and the gradients are `[B, H, n, d]` in any strides and in any
//! float type (read and written through `F`, computed in f32); `key_pad` is `[B, n]`, 1.0 for a
//! padded key; `lse` and `delta` are `[B, H, n]` in f32. The scale is folded into q as it is read.
//! WGSL has no infinite literals, so "minus infinity" is -1e30, and a row whose keys are all padded gets
//! an output of 0 and a log-sum-exp of +1e30 (so that each of its recomputed weights is 0).

// Kernels take many tensors; and `usize::div_ceil` has no CubeCL expansion.
#![allow(clippy::too_many_arguments, clippy::manual_div_ceil)]

use cubecl::prelude::*;

/// Offset of row `row` of head `h` of batch item `b` in a `[B, H, n, ...]` tensor.
#[cube]
fn row_offset<F: Float>(t: &Tensor<F>, b: usize, h: usize, row: usize) -> usize {
    b * t.stride(0) + h * t.stride(1) + row * t.stride(2)
}

/// Stages rows `first..first + rows` of `t` (zeros past `n`) into `tile`, `[rows, head_dim]`,
/// all units of the cube taking part, scaled by `scale`.
#[cube]
fn load_tile<F: Float>(
    t: &Tensor<F>,
    tile: &mut SharedMemory<f32>,
    b: usize,
    h: usize,
    first: usize,
    n: usize,
    scale: f32,
    #[comptime] rows: usize,
    #[comptime] head_dim: usize,
) {
    let mut i = UNIT_POS_X as usize;
    while i < rows * head_dim {
        let row = first + i / head_dim;
        let mut value = 0.0f32;
        if row < n {
            value = f32::cast_from(t[row_offset::<F>(t, b, h, row) + (i % head_dim) * t.stride(3)]);
        }
        tile[i] = value * scale;
        i += CUBE_DIM_X as usize;
    }
}

/// Stages `key_pad` of keys `first..first + rows` into `pad` (keys past `n` count as padded).
#[cube]
fn load_pad(
    key_pad: &Tensor<f32>,
    pad: &mut SharedMemory<f32>,
    b: usize,
    first: usize,
    n: usize,
    #[comptime] rows: usize,
) {
    let mut j = UNIT_POS_X as usize;
    while j < rows {
        let key = first + j;
        let mut value = 1.0f32;
        if key < n {
            value = key_pad[b * key_pad.stride(0) + key * key_pad.stride(1)];
        }
        pad[j] = value;
        j += CUBE_DIM_X as usize;
    }
}

/// Row `row` of `t` (scaled) into the unit's own `into`.
#[cube]
fn load_row<F: Float>(
    t: &Tensor<F>,
    into: &mut Array<f32>,
    b: usize,
    h: usize,
    row: usize,
    scale: f32,
    #[comptime] head_dim: usize,
) {
    let base = row_offset::<F>(t, b, h, row);
    #[unroll]
    for d in 0..head_dim {
        into[d] = f32::cast_from(t[base + d * t.stride(3)]) * scale;
    }
}

/// `a · tile[j]`.
#[cube]
fn dot(a: &Array<f32>, tile: &SharedMemory<f32>, j: usize, #[comptime] head_dim: usize) -> f32 {
    let mut sum = 0.0f32;
    #[unroll]
    for d in 0..head_dim {
        sum += a[d] * tile[j * head_dim + d];
    }
    sum
}

/// Forward: one cube per `CUBE_DIM_X` query rows of one (b, h) (`CUBE_POS_Y = b * H + h`), one
/// unit per query row, online softmax over key tiles of `block` keys.
#[cube(launch)]
pub fn forward_kernel<F: Float>(
    q: &Tensor<F>,
    k: &Tensor<F>,
    v: &Tensor<F>,
    key_pad: &Tensor<f32>,
    out: &mut Tensor<F>,
    lse: &mut Tensor<f32>,
    scale: f32,
    #[comptime] head_dim: usize,
    #[comptime] block: usize,
    #[define(F)] _dtype: StorageType,
) {
    let heads = q.shape(1);
    let n = q.shape(2);
    let b = CUBE_POS_Y as usize / heads;
    let h = CUBE_POS_Y as usize % heads;
    let row = CUBE_POS_X as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    // Units past the last row still stage tiles and meet every barrier.
    let mut own = 0usize;
    if row < n {
        own = row;
    }

    let mut qr = Array::<f32>::new(head_dim);
    let mut acc = Array::<f32>::new(head_dim);
    let mut scores = Array::<f32>::new(block);
    load_row::<F>(q, &mut qr, b, h, own, scale, head_dim);
    #[unroll]
    for d in 0..head_dim {
        acc[d] = 0.0;
    }
    let mut max = f32::new(-1.0e30);
    let mut sum = 0.0f32;
    let mut ks = SharedMemory::<f32>::new(block * head_dim);
    let mut vs = SharedMemory::<f32>::new(block * head_dim);
    let mut pad = SharedMemory::<f32>::new(block);

    let tiles = (n + block - 1) / block;
    for t in 0..tiles {
        let first = t * block;
        load_tile::<F>(k, &mut ks, b, h, first, n, 1.0, block, head_dim);
        load_tile::<F>(v, &mut vs, b, h, first, n, 1.0, block, head_dim);
        load_pad(key_pad, &mut pad, b, first, n, block);
        sync_cube();
        let mut new_max = max;
        for j in 0..block {
            let mut s = f32::new(-1.0e30);
            if pad[j] < 0.5 {
                s = dot(&qr, &ks, j, head_dim);
            }
            scores[j] = s;
            if s > new_max {
                new_max = s;
            }
        }
        let rescale = (max - new_max).exp();
        sum *= rescale;
        #[unroll]
        for d in 0..head_dim {
            acc[d] *= rescale;
        }
        for j in 0..block {
            if pad[j] < 0.5 {
                let p = (scores[j] - new_max).exp();
                sum += p;
                #[unroll]
                for d in 0..head_dim {
                    acc[d] += p * vs[j * head_dim + d];
                }
            }
        }
        max = new_max;
        sync_cube();
    }
    if row < n {
        let mut inverse = 0.0f32;
        // A row with no key: output 0, log-sum-exp +1e30 (its every weight exp(s - lse) is 0).
        let mut row_lse = 1.0e30f32;
        if sum > 0.0 {
            inverse = sum.recip();
            row_lse = max + sum.ln();
        }
        let base = row_offset::<F>(out, b, h, row);
        #[unroll]
        for d in 0..head_dim {
            out[base + d * out.stride(3)] = F::cast_from(acc[d] * inverse);
        }
        let at = b * lse.stride(0) + h * lse.stride(1) + row * lse.stride(2);
        lse[at] = row_lse;
    }
}

/// Backward for dK and dV: one unit per key row, walking query tiles of `block` rows.
/// `p = exp(q·k - lse)`, `dV += p dO`, `dS = p (dO·v - delta)`, `dK += dS q` (q scaled).
#[cube(launch)]
pub fn backward_kv_kernel<F: Float>(
    q: &Tensor<F>,
    k: &Tensor<F>,
    v: &Tensor<F>,
    key_pad: &Tensor<f32>,
    grad_out: &Tensor<F>,
    lse: &Tensor<f32>,
    delta: &Tensor<f32>,
    grad_k: &mut Tensor<F>,
    grad_v: &mut Tensor<F>,
    scale: f32,
    #[comptime] head_dim: usize,
    #[comptime] block: usize,
    #[define(F)] _dtype: StorageType,
) {
    let heads = q.shape(1);
    let n = q.shape(2);
    let b = CUBE_POS_Y as usize / heads;
    let h = CUBE_POS_Y as usize % heads;
    let key = CUBE_POS_X as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    let mut own = 0usize;
    if key < n {
        own = key;
    }
    let padded = key >= n || key_pad[b * key_pad.stride(0) + own * key_pad.stride(1)] > 0.5;

    let mut kr = Array::<f32>::new(head_dim);
    let mut vr = Array::<f32>::new(head_dim);
    let mut dk = Array::<f32>::new(head_dim);
    let mut dv = Array::<f32>::new(head_dim);
    load_row::<F>(k, &mut kr, b, h, own, 1.0, head_dim);
    load_row::<F>(v, &mut vr, b, h, own, 1.0, head_dim);
    #[unroll]
    for d in 0..head_dim {
        dk[d] = 0.0;
        dv[d] = 0.0;
    }
    let mut qs = SharedMemory::<f32>::new(block * head_dim);
    let mut dos = SharedMemory::<f32>::new(block * head_dim);
    let mut ls = SharedMemory::<f32>::new(block);
    let mut ds = SharedMemory::<f32>::new(block);

    let tiles = (n + block - 1) / block;
    for t in 0..tiles {
        let first = t * block;
        load_tile::<F>(q, &mut qs, b, h, first, n, scale, block, head_dim);
        load_tile::<F>(grad_out, &mut dos, b, h, first, n, 1.0, block, head_dim);
        let mut i = UNIT_POS_X as usize;
        while i < block {
            let row = first + i;
            let mut l = 1.0e30f32;
            let mut dl = 0.0f32;
            if row < n {
                l = lse[b * lse.stride(0) + h * lse.stride(1) + row * lse.stride(2)];
                dl = delta[b * delta.stride(0) + h * delta.stride(1) + row * delta.stride(2)];
            }
            ls[i] = l;
            ds[i] = dl;
            i += CUBE_DIM_X as usize;
        }
        sync_cube();
        if !padded {
            for i in 0..block {
                let p = (dot(&kr, &qs, i, head_dim) - ls[i]).exp();
                let dp = dot(&vr, &dos, i, head_dim);
                let dscore = p * (dp - ds[i]);
                #[unroll]
                for d in 0..head_dim {
                    dv[d] += p * dos[i * head_dim + d];
                    dk[d] += dscore * qs[i * head_dim + d];
                }
            }
        }
        sync_cube();
    }
    if key < n {
        let kb = row_offset::<F>(grad_k, b, h, key);
        let vb = row_offset::<F>(grad_v, b, h, key);
        #[unroll]
        for d in 0..head_dim {
            grad_k[kb + d * grad_k.stride(3)] = F::cast_from(dk[d]);
            grad_v[vb + d * grad_v.stride(3)] = F::cast_from(dv[d]);
        }
    }
}

/// Backward for dQ: one unit per query row, walking key tiles of `block` keys.
/// `dQ = scale · Σ_j p (dO·v_j - delta) k_j`.
#[cube(launch)]
pub fn backward_q_kernel<F: Float>(
    q: &Tensor<F>,
    k: &Tensor<F>,
    v: &Tensor<F>,
    key_pad: &Tensor<f32>,
    grad_out: &Tensor<F>,
    lse: &Tensor<f32>,
    delta: &Tensor<f32>,
    grad_q: &mut Tensor<F>,
    scale: f32,
    #[comptime] head_dim: usize,
    #[comptime] block: usize,
    #[define(F)] _dtype: StorageType,
) {
    let heads = q.shape(1);
    let n = q.shape(2);
    let b = CUBE_POS_Y as usize / heads;
    let h = CUBE_POS_Y as usize % heads;
    let row = CUBE_POS_X as usize * CUBE_DIM_X as usize + UNIT_POS_X as usize;
    let mut own = 0usize;
    if row < n {
        own = row;
    }

    let mut qr = Array::<f32>::new(head_dim);
    let mut dor = Array::<f32>::new(head_dim);
    let mut dq = Array::<f32>::new(head_dim);
    load_row::<F>(q, &mut qr, b, h, own, scale, head_dim);
    load_row::<F>(grad_out, &mut dor, b, h, own, 1.0, head_dim);
    #[unroll]
    for d in 0..head_dim {
        dq[d] = 0.0;
    }
    let at = b * lse.stride(0) + h * lse.stride(1) + own * lse.stride(2);
    let l = lse[at];
    let dl = delta[b * delta.stride(0) + h * delta.stride(1) + own * delta.stride(2)];
    let mut ks = SharedMemory::<f32>::new(block * head_dim);
    let mut vs = SharedMemory::<f32>::new(block * head_dim);
    let mut pad = SharedMemory::<f32>::new(block);

    let tiles = (n + block - 1) / block;
    for t in 0..tiles {
        let first = t * block;
        load_tile::<F>(k, &mut ks, b, h, first, n, 1.0, block, head_dim);
        load_tile::<F>(v, &mut vs, b, h, first, n, 1.0, block, head_dim);
        load_pad(key_pad, &mut pad, b, first, n, block);
        sync_cube();
        for j in 0..block {
            if pad[j] < 0.5 {
                let p = (dot(&qr, &ks, j, head_dim) - l).exp();
                let dscore = p * (dot(&dor, &vs, j, head_dim) - dl);
                #[unroll]
                for d in 0..head_dim {
                    dq[d] += dscore * ks[j * head_dim + d];
                }
            }
        }
        sync_cube();
    }
    if row < n {
        let base = row_offset::<F>(grad_q, b, h, row);
        #[unroll]
        for d in 0..head_dim {
            grad_q[base + d * grad_q.stride(3)] = F::cast_from(dq[d] * scale);
        }
    }
}
