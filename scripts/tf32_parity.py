"""What TF32 costs PyTorch on this GPU: the vqa_tiny parity fixture (tests/fixtures/beit3) run by
torchscale on CUDA in f32, with TF32 matrix products allowed and disallowed, against the
fixture's CPU f32 logits. Burn's CUDA backend always uses TF32 for f32 products on tensor cores
(CubeCL has no setting to turn it off), so its f32 parity is to be read against the TF32 line.

    python scripts/tf32_parity.py      # prints `tf32=on max_abs_diff=...` and `tf32=off ...`
"""
import os
import sys

import torch
from safetensors.torch import load_file

FIXTURES = os.environ.get("BEIT3_FIXTURES", os.path.join(os.path.dirname(__file__), "../tests/fixtures/beit3"))
sys.path.insert(0, FIXTURES)
from make_fixtures import TINY, TinyVqaModel  # noqa: E402


def main():
    case = os.path.join(FIXTURES, "vqa_tiny")
    state = torch.load(os.path.join(case, "checkpoint.pth"), map_location="cpu", weights_only=False)["model"]
    model = TinyVqaModel(TINY, TINY["img_size"])
    model.load_state_dict({k: v.float() for k, v in state.items() if not k.startswith("mlm_head")})
    model = model.cuda().eval()
    inputs = load_file(os.path.join(case, "inputs.safetensors"))
    expected = load_file(os.path.join(case, "outputs.safetensors"))["logits"]
    for tf32 in (True, False):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        with torch.no_grad():
            logits, _, _ = model(inputs["image"].cuda(), inputs["question"].cuda(),
                                 inputs["padding_mask"].cuda().bool())
        diff = (logits.float().cpu() - expected).abs().max().item()
        print(f"tf32={'on' if tf32 else 'off'} max_abs_diff={diff:.3e}")


if __name__ == "__main__":
    main()
