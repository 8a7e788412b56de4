"""Training throughput of the same BEiT-3 VQA model in PyTorch (torchscale 0.2.0 backbone plus the
VQA pooler and head of shared/reference/beit3.md), the side-by-side reference for
stages/vqa/examples/train_bench.rs: same shapes, random inputs, cross-entropy over the four
options, backward, clipping at 1.0 and AdamW (0.9, 0.98), timed after warm-up steps.

    python torch_bench.py HEAD STEPS BATCH EMBED DEPTH HEADS FFN PATCH IMAGE TEXT_LEN THREADS

prints `questions=N seconds=T questions_per_s=R` (and `peak_allocated_mib=M` on a GPU).
Environment, as the Rust example: DEVICE (cpu, cuda), PRECISION (f32; bf16 = autocast to
bfloat16 with f32 weights), MODE (train; predict = forward under no_grad), VOCAB (2000; the
official models have 64010), COMPILE=1 (torch.compile the model; compilation happens in the
warm-up steps, which are not timed).
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchscale.architecture.config import EncoderConfig
from torchscale.model.BEiT3 import BEiT3

WARMUP_STEPS = 3
VOCAB = int(os.environ.get("VOCAB", "2000"))


class VqaModel(nn.Module):
    def __init__(self, embed, depth, heads, ffn, patch, image, text_len, classes):
        super().__init__()
        cfg = EncoderConfig(
            img_size=image, patch_size=patch, vocab_size=VOCAB, multiway=True,
            layernorm_embedding=False, normalize_output=False, no_output_layer=True,
            drop_path_rate=0.0, encoder_embed_dim=embed, encoder_attention_heads=heads,
            encoder_ffn_embed_dim=ffn, encoder_layers=depth, max_source_positions=text_len + 2,
        )
        self.beit3 = BEiT3(cfg)
        self.norm = nn.LayerNorm(embed)
        self.dense = nn.Linear(embed, embed)
        self.head = nn.Sequential(
            nn.Linear(embed, 2 * embed), nn.LayerNorm(2 * embed), nn.GELU(),
            nn.Linear(2 * embed, classes),
        )

    def forward(self, image, tokens, padding):
        out = self.beit3(textual_tokens=tokens, visual_tokens=image,
                         text_padding_position=padding)["encoder_out"]
        return self.head(torch.tanh(self.dense(self.norm(out[:, 0]))))


def batch_of(batch, sequences, image, text_len, device):
    images = torch.rand(batch, 3, image, image, device=device) * 2 - 1
    if sequences == 4:
        images = images.repeat_interleave(4, 0)
    tokens = torch.randint(3, VOCAB, (batch * sequences, text_len), device=device)
    padding = torch.zeros(batch * sequences, text_len, dtype=torch.bool, device=device)
    labels = torch.randint(0, 4, (batch,), device=device)
    return images, tokens, padding, labels


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    head = sys.argv[1]
    steps, batch, embed, depth, heads, ffn, patch, image, text_len, threads = map(int, sys.argv[2:12])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    device = torch.device(os.environ.get("DEVICE", "cpu"))
    bf16 = os.environ.get("PRECISION", "f32") == "bf16"
    predict = os.environ.get("MODE", "train") == "predict"
    sequences = 4 if head == "choice" else 1
    model = VqaModel(embed, depth, heads, ffn, patch, image, text_len, 1 if sequences == 4 else 4).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), weight_decay=0.05)
    forward = torch.compile(model) if os.environ.get("COMPILE") == "1" else model
    model.train(not predict)
    started = time.perf_counter()
    for step in range(WARMUP_STEPS + steps):
        if step == WARMUP_STEPS:
            sync(device)
            started = time.perf_counter()
        images, tokens, padding, labels = batch_of(batch, sequences, image, text_len, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            with torch.set_grad_enabled(not predict):
                logits = forward(images, tokens, padding).reshape(batch, 4)
                loss = F.cross_entropy(logits.float(), labels)
        if predict:
            logits[0, 0].item()
            continue
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    sync(device)
    seconds = time.perf_counter() - started
    questions = steps * batch
    line = f"questions={questions} seconds={seconds:.3f} questions_per_s={questions / seconds:.1f}"
    if device.type == "cuda":
        line += f" peak_allocated_mib={torch.cuda.max_memory_allocated(device) / 2**20:.0f}"
    print(line)


if __name__ == "__main__":
    main()
