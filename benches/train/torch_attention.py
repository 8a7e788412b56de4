"""The time of one layer's attention in PyTorch, the side-by-side reference for
stages/vqa/examples/attention_bench.rs: same shapes, random q, k, v, the last eighth of every
other question's keys padded, loss sum(out * w), forward and backward, after warm-up calls.

    python torch_attention.py BATCH HEADS TOKENS HEAD_DIM STEPS

prints `forward_ms=F layer_ms=L` (and `peak_allocated_mib=M` on a GPU: the most allocated during
the forward and backward calls, inputs included). Environment: DEVICE (cpu, cuda), PRECISION
(f32; bf16 = q, k, v in bfloat16), IMPL (eager: torchscale's attention, scores masked with -inf,
softmax in float32 and cast back, as BEiT-3's reference trains; sdpa: PyTorch's fused
scaled_dot_product_attention with the boolean mask, the memory-efficient kernel on a GPU).
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

WARMUP = 3


def eager(q, k, v, pad):
    scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-1, -2))
    scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).type_as(scores)
    return torch.matmul(probs, v)


def sdpa(q, k, v, pad):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=~pad[:, None, None, :])


def timed(device, steps, call):
    for _ in range(WARMUP):
        call()
    sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        call()
    sync(device)
    return (time.perf_counter() - started) / steps


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    batch, heads, tokens, head_dim, steps = map(int, sys.argv[1:6])
    torch.manual_seed(0)
    device = torch.device(os.environ.get("DEVICE", "cpu"))
    dtype = torch.bfloat16 if os.environ.get("PRECISION", "f32") == "bf16" else torch.float32
    attend = {"eager": eager, "sdpa": sdpa}[os.environ.get("IMPL", "eager")]
    shape = (batch, heads, tokens, head_dim)
    q, k, v = (torch.randn(shape, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    weights = torch.randn(shape, device=device)
    pad = torch.zeros(batch, tokens, dtype=torch.bool, device=device)
    pad[1::2, tokens - tokens // 8:] = True

    def loss():
        return (attend(q, k, v, pad).float() * weights).sum()

    def forward():
        with torch.no_grad():
            loss()

    def layer():
        loss().backward()
        q.grad = k.grad = v.grad = None

    forward_s = timed(device, steps, forward)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    layer_s = timed(device, steps, layer)
    line = f"forward_ms={forward_s * 1e3:.3f} layer_ms={layer_s * 1e3:.3f}"
    if device.type == "cuda":
        line += f" peak_allocated_mib={torch.cuda.max_memory_allocated(device) / 2**20:.0f}"
    print(line)


if __name__ == "__main__":
    main()
