#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a GPU host without network into .gpu/ (git-ignored):
# the CUDA builds of `pipeline`, `train_bench`, `device_parity` and `attention_bench`
# (xz-compressed: the device tool carries 64 MiB at most) and the pure Python packages of the
# PyTorch reference (torchscale 0.2.0 and the two it imports, fairscale and timm) as .gpu/py.tar.
# Build first (see scripts/gpu_check.sh).
#
# Knobs: CARGO_TARGET_DIR (target), SITE (the site-packages holding torchscale; default: the
# one of $PY, python3).
set -euo pipefail
cd "$(dirname "$0")/.."
release="${CARGO_TARGET_DIR:-target}/release"
PY="${PY:-python3}"
SITE="${SITE:-$("$PY" -c 'import os, torchscale; print(os.path.dirname(os.path.dirname(torchscale.__file__)))')}"
mkdir -p .gpu
for bin in "$release/pipeline" "$release/examples/train_bench" "$release/examples/device_parity" \
  "$release/examples/attention_bench"; do
  [ -e "$bin" ] || { echo "gpu_pack: $bin is not built (see scripts/gpu_check.sh)" >&2; exit 1; }
  xz -9 -T2 -c "$bin" > ".gpu/$(basename "$bin").xz"
done
tar -cf .gpu/py.tar -C "$SITE" --exclude=__pycache__ torchscale fairscale timm
xz -9 -f .gpu/py.tar
du -ch .gpu/*.xz | tail -1
