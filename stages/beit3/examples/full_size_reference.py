"""Full-size reference for `examples/check_checkpoint.rs` (not a fixture: ~570 MB of output).

Builds a torchscale 0.2.0 base backbone at 224 px in the pretrained layout (final LayerNorm,
mlm_head, `args`/`epoch` entries, fp16) with random weights, then the reference VQA model at
480 px, C = 3129, loaded the unilm way (bicubic table interpolation in f32), and writes
`base224.pth`, `head.safetensors` and `io.safetensors` (inputs and logits) to OUT (default
/tmp/beit3_full). Run with the fixture venv:

    /work/venvs/beit3/bin/python -W ignore stages/beit3/examples/full_size_reference.py [OUT]
    cargo run -p beit3 --example check_checkpoint -- base 480 3129 OUT/base224.pth \\
        OUT/head.safetensors OUT/io.safetensors
"""
import sys, os, argparse
from collections import OrderedDict
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../tests/fixtures/beit3"))
import torch
import make_fixtures as mf
from safetensors.torch import save_file

torch.set_num_threads(2)
BASE = dict(embed_dim=768, depth=12, heads=12, ffn_dim=3072, img_size=224, patch_size=16, in_chans=3,
            vocab_size=64010, max_source_positions=1024, num_classes=3129, layernorm_eps=1e-5)
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/beit3_full"
os.makedirs(out, exist_ok=True)
gen = torch.Generator().manual_seed(1)
pre = mf.TinyVqaModel(BASE, 224, normalize_output=True)
mf.randomize_(pre, gen); mf.round_fp16_(pre)
sd = OrderedDict(("beit3." + k, t.detach().half().contiguous()) for k, t in pre.beit3.state_dict().items())
sd["mlm_head.weight"] = (0.5 * torch.randn((64010, 768), generator=gen)).half()
sd["mlm_head.bias"] = torch.zeros(64010).half()
torch.save({"model": sd, "args": argparse.Namespace(x=1), "epoch": 3}, f"{out}/base224.pth")
del pre
model = mf.TinyVqaModel(BASE, 480)
mf.randomize_(model, torch.Generator().manual_seed(2))
head = OrderedDict((k, t.detach().clone().contiguous()) for k, t in model.state_dict().items() if k.startswith(("pooler.", "head.")))
save_file(head, f"{out}/head.safetensors", metadata={"format": "pt"})
loaded = OrderedDict((k, t.float()) for k, t in torch.load(f"{out}/base224.pth", weights_only=False)["model"].items())
key = "beit3.encoder.embed_positions.A.weight"
loaded[key] = mf.interpolate_pos_table(loaded[key], 30, 3)
res = model.load_state_dict(loaded, strict=False)
print("missing", len(res.missing_keys), "unexpected", res.unexpected_keys)
model.eval()
image, question, pad = mf.make_inputs(torch.Generator().manual_seed(3), 2, 480, 64, [64, 11], 64010)
with torch.no_grad():
    logits, enc, pooled = model(image, question, pad)
save_file({"image": image.contiguous(), "question": question.contiguous(), "padding_mask": pad.contiguous(),
           "logits": logits.contiguous(), "pooled": pooled.contiguous()}, f"{out}/io.safetensors")
print("params", sum(p.numel() for p in model.parameters()))
