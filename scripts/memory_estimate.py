"""GPU memory a BEiT-3 training run needs, estimated from its shapes: the f32 weights, their
gradients and AdamW's two moments, the bf16 copies of the weights the products read, and the
activations autodiff keeps per question (bf16 products, f32 softmax, norms and residual stream),
with and without recomputation (Burn's BalancedCheckpointing keeps the products' outputs and
recomputes the element-wise work from them). An estimate to choose the batch size and the
accumulation by, not a measurement: scripts/gpu_step.sh measures the peak on a GPU.

    python3 scripts/memory_estimate.py [--gpu-gib 40] [--image 480] [--text 64] [--pad 64]
"""
import argparse

LARGE = dict(params=682_985_529, dim=1024, depth=24, heads=16, ffn=4096, patch=16)
GIB = 2**30


def sequence(image, patch, text, pad):
    n = 1 + (image // patch) ** 2 + text
    return -(-n // pad) * pad


def per_layer_bytes(n, d, heads, ffn, recompute):
    """Bytes autodiff keeps for one encoder layer and one sequence of n tokens."""
    scores = heads * n * n
    if recompute:
        # outputs of the products only: q, k, v, q k^T (bf16), attention output, out_proj,
        # fc1, fc2 (bf16), and the residual stream entering the layer (f32)
        return 2 * (3 * n * d + scores + 2 * n * d + n * ffn + n * d) + 4 * n * d
    attention = (
        4 * n * d * 2  # layer-norm input and output (f32)
        + 2 * n * d * 3  # its bf16 casts for q, k, v
        + 2 * n * d * 3  # q, k, v (bf16)
        + 4 * scores * 2  # scores and softmax output (f32)
        + 2 * scores  # probabilities cast to bf16 for the product with v
        + scores  # key-padding mask, one byte per score
        + (4 + 4 + 2) * n * d  # attention output in f32, sub-LayerNorm output, bf16 cast
    )
    ffn_bytes = (
        4 * n * d * 2 + 2 * n * d  # layer-norm input and output, bf16 cast
        + (2 + 4 + 4 + 4 + 2) * n * ffn  # fc1 (bf16), f32 cast, GELU, sub-LayerNorm, bf16 cast
    )
    return attention + ffn_bytes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gpu-gib", type=float, default=40.0)
    parser.add_argument("--image", type=int, default=480)
    parser.add_argument("--text", type=int, default=64)
    parser.add_argument("--pad", type=int, default=64)
    parser.add_argument("--reserve-gib", type=float, default=3.0, help="CUDA context, workspaces, fragmentation")
    args = parser.parse_args()
    m = LARGE
    n = sequence(args.image, m["patch"], args.text, args.pad)
    static = m["params"] * (4 + 4 + 8 + 2)  # weights, gradients, AdamW moments (f32), bf16 copies
    print(f"BEiT-3 large, {args.image} px, {n} tokens per sequence, {args.gpu_gib:g} GiB GPU")
    print(f"weights + gradients + AdamW + bf16 copies: {static / GIB:.1f} GiB")
    free = args.gpu_gib - args.reserve_gib - static / GIB
    print(f"left for activations (after {args.reserve_gib:g} GiB reserve): {free:.1f} GiB")
    print("| head | recompute | activations per question | questions per micro-batch |")
    print("| --- | --- | ---: | ---: |")
    for head, sequences in (("joint", 1), ("choice", 4)):
        for recompute in (False, True):
            per_q = sequences * m["depth"] * per_layer_bytes(n, m["dim"], m["heads"], m["ffn"], recompute)
            fit = int(free * GIB // per_q)
            print(f"| {head} | {'yes' if recompute else 'no'} | {per_q / GIB:.2f} GiB | {fit} |")


if __name__ == "__main__":
    main()
