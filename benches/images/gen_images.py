"""Writes N deterministic photo-like JPEGs (Visual7W-like sizes) for the `images` benchmark.

Usage: gen_images.py OUT_DIR [N]. Each image is smooth colour gradients plus a few soft blobs and
pixel noise, saved as JPEG quality 90, named v7w_<id>.jpg like the real dataset.
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SIZES = [(500, 375), (640, 480), (480, 640), (500, 333), (612, 612), (640, 427), (375, 500), (600, 450)]


def photo_like(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Smooth gradients, soft blobs and noise: compresses and resamples like a photograph."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x /= width
    y /= height
    channels = []
    for _ in range(3):
        a, b, c, f = rng.uniform(-1, 1, 4)
        channels.append(128 + 60 * (a * x + b * y) + 40 * np.sin(2 * np.pi * (f * 3 * x + c * 2 * y)))
    img = np.stack(channels, axis=-1)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.2)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        img += blob * rng.uniform(-90, 90, 3)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(count):
        width, height = SIZES[i % len(SIZES)]
        Image.fromarray(photo_like(rng, width, height)).save(out / f"v7w_{2354000 + i}.jpg", quality=90)


if __name__ == "__main__":
    main()
