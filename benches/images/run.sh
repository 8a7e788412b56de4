#!/usr/bin/env bash
# The `images` stage against Python PIL, in one run: throughput per core on the same JPEGs
# (Visual7W-like sizes, photo-like content), and the pixel difference between the two.
# Writes .bench/images-results.md. Knobs: COUNT (1000), SIZE (480), DIFF_COUNT (200), REPEAT (3),
# VENV ($BENCH_VENVS/images), WORK (/tmp/pipeline-images-bench), CARGO_TARGET_DIR.
#   (BENCH_VENVS: where the benchmarks keep their Python environments, ~/.cache/pipeline/bench-venvs)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../lib.sh"
COUNT=${COUNT:-1000} SIZE=${SIZE:-480} DIFF_COUNT=${DIFF_COUNT:-200} REPEAT=${REPEAT:-3}
VENV=${VENV:-${BENCH_VENVS:-$HOME/.cache/pipeline/bench-venvs}/images} WORK=${WORK:-/tmp/pipeline-images-bench}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
RESULTS="$REPO/.bench/images-results.md"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q pillow numpy
fi
PY="$VENV/bin/python"
if [ "$(ls "$WORK/jpegs" 2>/dev/null | wc -l)" != "$COUNT" ]; then
  rm -rf "$WORK/jpegs" && "$PY" "$HERE/gen_images.py" "$WORK/jpegs" "$COUNT"
fi
(cd "$REPO" && cargo build --release -q -p pipeline-stages-images --example images_bench)
BIN="$TARGET_DIR/release/examples/images_bench"
cat "$WORK"/jpegs/* > /dev/null  # both sides read from the page cache

# Best of REPEAT runs of a command printing `images=N seconds=T`: prints T.
best() {
  local best_s=""
  for _ in $(seq "$REPEAT"); do
    local s; s=$("$@" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
    best_s=$(python3 -c "print(min(float(x) for x in '$best_s $s'.split()))")
  done
  echo "$best_s"
}
ours1=$(best "$BIN" pack "$WORK/jpegs" "$WORK/packed" "$SIZE" 1)
ours2=$(best "$BIN" pack "$WORK/jpegs" "$WORK/packed" "$SIZE" 2)
pil1=$(best "$PY" "$HERE/pil_bench.py" time "$WORK/jpegs" "$SIZE")
load=$(cut -d' ' -f1-3 /proc/loadavg)
"$BIN" dump "$WORK/jpegs" "$WORK/dump" "$SIZE" "$DIFF_COUNT"
diff_table=$("$PY" "$HERE/pil_bench.py" compare "$WORK/jpegs" "$WORK/dump" "$SIZE" "$DIFF_COUNT")

row() { python3 -c "n=$COUNT; s=$2; c=$3; print(f'| $1 | $3 | {s:.2f} | {n/s:.1f} | {n/s/c:.1f} |')" ; }
mkdir -p "$(dirname "$RESULTS")"
cat > "$RESULTS" <<MD
## images: decode + bicubic resize to ${SIZE}x${SIZE}, \`images\` stage vs Python PIL

- Machine: $(machine); load average at the end of the timings: $load (other engineers build on the same cores, so absolute numbers are noisy; each figure is the best of $REPEAT runs).
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Pillow $("$PY" -c 'import PIL; print(PIL.__version__)') (libjpeg-turbo $("$PY" -c 'from PIL import features; print(features.version("libjpeg_turbo"))')), Python $("$PY" -c 'import sys; print(sys.version.split()[0])'), $(rustc --version).
- Data: $COUNT JPEGs (quality 90, 500x375 to 640x480 and portrait, gradients + blobs + noise) from \`benches/images/gen_images.py\`, read from the page cache.
- Ours: \`images_bench pack DIR OUT $SIZE THREADS\` runs the real stage (decode with the image crate's zune-jpeg, PIL-exact bicubic, write \`images.u8\` + index). PIL: \`Image.open(p).convert('RGB').resize(($SIZE, $SIZE), Image.BICUBIC)\` in one process.
- Command: \`bash benches/images/run.sh\` (COUNT=$COUNT SIZE=$SIZE DIFF_COUNT=$DIFF_COUNT REPEAT=$REPEAT).

| tool | threads | seconds | images/s | images/s per core |
| --- | --- | --- | --- | --- |
$(row "images stage" "$ours1" 1)
$(row "images stage" "$ours2" 2)
$(row "PIL" "$pil1" 1)

Single-thread speed-up over PIL: $(python3 -c "print(f'{$pil1/$ours1:.2f}x')"); two threads over one: $(python3 -c "print(f'{$ours1/$ours2:.2f}x')") (on 2 cores shared with other builds).

Pixel difference against PIL on the first $DIFF_COUNT images (u8 levels, over all pixels and channels; "resampler only" feeds PIL our decoded pixels, so it isolates the resize; the decoder row compares full-size decoded pixels):

$diff_table
MD
cat "$RESULTS"
