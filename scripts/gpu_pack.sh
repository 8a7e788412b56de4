#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a GPU host without network into .gpu/ (git-ignored):
# the CUDA builds of `pipeline`, `train_bench` and `device_parity` (gzip-compressed) and the pure
# Python packages of the PyTorch reference (torchscale 0.2.0 and the two it imports, fairscale
# and timm) as .gpu/py.tar. Build first (see scripts/gpu_check.sh).
#
# Knobs: CARGO_TARGET_DIR (target), SITE (the site-packages holding torchscale; default: the
# one of $PY, python3).
set -euo pipefail
cd "$(dirname "$0")/.."
release="${CARGO_TARGET_DIR:-target}/release"
PY="${PY:-python3}"
SITE="${SITE:-$("$PY" -c 'import os, torchscale; print(os.path.dirname(os.path.dirname(torchscale.__file__)))')}"
mkdir -p .gpu
for bin in "$release/pipeline" "$release/examples/train_bench" "$release/examples/device_parity"; do
  gzip -6c "$bin" > ".gpu/$(basename "$bin").gz"
done
tar -cf .gpu/py.tar -C "$SITE" --exclude=__pycache__ torchscale fairscale timm
du -ch .gpu/*.gz .gpu/py.tar | tail -1
