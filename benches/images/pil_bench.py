"""PIL side of the `images` benchmark.

`pil_bench.py time DIR SIZE`: decodes and resizes every image of DIR in this one process, the way
BEiT-3's loader does, and prints `images=N seconds=T`.
`pil_bench.py compare DIR DUMP SIZE COUNT`: compares the resized pixels that `images_bench dump`
wrote (first COUNT images in sorted order) with PIL's, printing one Markdown table row per method.
"""
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def time_pil(folder: Path, size: int) -> None:
    paths = files(folder)
    start = time.perf_counter()
    for path in paths:
        Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    print(f"images={len(paths)} seconds={time.perf_counter() - start:.3f}")


def stats(diffs: list[np.ndarray]) -> str:
    mean = np.mean([d.mean() for d in diffs])
    worst = max(int(d.max()) for d in diffs)
    share = np.mean([(d > 0).mean() for d in diffs])
    over1 = np.mean([(d > 1).mean() for d in diffs])
    return f"{mean:.4f} | {worst} | {100 * share:.3f} % | {100 * over1:.4f} %"


def compare(folder: Path, dump: Path, size: int, count: int) -> None:
    paths = files(folder)[:count]
    row = size * size * 3
    methods = ["ours", "image_catmullrom", "fir_catmullrom"]
    packed = {m: np.fromfile(dump / f"{m}.u8", np.uint8) for m in methods + ["decoded"]}
    diffs: dict[str, list[np.ndarray]] = {}
    offset = 0
    for i, path in enumerate(paths):
        image = Image.open(path).convert("RGB")
        pil_decoded = np.asarray(image).astype(np.int16)
        ours_decoded = packed["decoded"][offset : offset + pil_decoded.size].reshape(pil_decoded.shape)
        offset += pil_decoded.size
        reference = np.asarray(image.resize((size, size), Image.BICUBIC)).astype(np.int16)
        same_input = np.asarray(Image.fromarray(ours_decoded).resize((size, size), Image.BICUBIC)).astype(np.int16)
        diffs.setdefault("decode only: zune-jpeg vs libjpeg-turbo (full-size pixels)", []).append(
            np.abs(pil_decoded - ours_decoded))
        for method in methods:
            ours = packed[method][i * row : (i + 1) * row].reshape(size, size, 3).astype(np.int16)
            diffs.setdefault(f"{method}, end to end (our decode)", []).append(np.abs(ours - reference))
            diffs.setdefault(f"{method}, resampler only (PIL resizes our decoded pixels)", []).append(
                np.abs(ours - same_input))
    print("| comparison | mean abs diff | max abs diff | pixels differing | pixels off by > 1 |")
    print("| --- | --- | --- | --- | --- |")
    for name, values in diffs.items():
        print(f"| {name} | {stats(values)} |")


if __name__ == "__main__":
    if sys.argv[1] == "time":
        time_pil(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        compare(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
