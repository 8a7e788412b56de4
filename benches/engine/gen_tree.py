#!/usr/bin/env python3
"""Deterministic Visual7W-shaped test tree for the engine benchmark.

Layout (like the Visual7W "telling" release):

    <out>/images/v7w_<image_id>.jpg   N files, 100-220 KiB each (mean ~160 KiB)
    <out>/annotations.json            ~100 MB, {"images": [{..., "qa_pairs": [...]}]}

Everything is a pure function of (--seed, --files, --json-mb, GEN_VERSION):
running it twice gives byte-identical files. Image bytes are incompressible:
each file is a JPEG-like header, a 32-byte per-file SHA-256 tag, and a slice
of a seeded 128 MiB random pool at a seeded offset (so no two files are equal,
and generation is limited by the disk, not by the random generator).

Idempotent: a stamp file next to the tree (<out>.stamp) records the
parameters; if it matches, nothing is done. Otherwise the tree is rebuilt in
<out>.tmp and moved into place, and the stamp is written last.

Standard library only (no numpy).
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time

GEN_VERSION = 1
POOL_BYTES = 128 * 1024 * 1024
MIN_SIZE = 100 * 1024
MAX_SIZE = 220 * 1024

# A small vocabulary for the QA text; the content is nonsense, the shape is not.
OBJECTS = ("man woman dog cat car bus train plate table chair window tree sign "
           "umbrella shirt hat bicycle horse kite pizza clock bench bottle cup "
           "laptop phone boat bird giraffe elephant zebra sky building street "
           "grass water fence door wall road light pole jacket bag").split()
COLORS = "red blue green white black yellow brown gray orange pink purple".split()
PLACES = ("park kitchen beach street field restaurant bedroom airport station "
          "zoo office market river mountain").split()
WH = ("what", "where", "when", "who", "why", "how")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="tree folder to create")
    p.add_argument("--files", type=int, default=47300)
    p.add_argument("--json-mb", type=float, default=100.0,
                   help="target size of annotations.json in MB (10^6 bytes)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--force", action="store_true", help="rebuild even if stamped")
    return p.parse_args()


def wanted_stamp(args):
    return {
        "generator": "benches/engine/gen_tree.py",
        "gen_version": GEN_VERSION,
        "seed": args.seed,
        "files": args.files,
        "json_mb": args.json_mb,
    }


def write_images(img_dir, n, seed):
    rng = random.Random(seed)
    pool = random.Random(seed ^ 0x5EED).randbytes(POOL_BYTES)
    header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"
    total = 0
    for i in range(n):
        image_id = i + 1
        size = rng.randint(MIN_SIZE, MAX_SIZE)
        tag = hashlib.sha256(f"{seed}:{image_id}".encode()).digest()
        body = size - len(header) - len(tag) - 2
        off = rng.randrange(0, POOL_BYTES - body)
        with open(os.path.join(img_dir, f"v7w_{image_id}.jpg"), "wb") as f:
            f.write(header)
            f.write(tag)
            f.write(pool[off:off + body])
            f.write(b"\xff\xd9")
        total += size
        if (i + 1) % 5000 == 0:
            print(f"  images: {i + 1}/{n}", file=sys.stderr, flush=True)
    return total


def qa_pair(rng, qa_id, image_id):
    kind = rng.choice(WH)
    obj, obj2 = rng.choice(OBJECTS), rng.choice(OBJECTS)
    if kind == "what":
        q = f"What color is the {obj} next to the {obj2}?"
        ans = [f"{c.capitalize()}." for c in rng.sample(COLORS, 4)]
    elif kind == "where":
        q = f"Where is the {obj} standing?"
        ans = [f"In a {p}." for p in rng.sample(PLACES, 4)]
    elif kind == "when":
        q = f"When was the photo of the {obj} taken?"
        ans = [f"{t}." for t in rng.sample(
            ["Daytime", "Night", "Morning", "Evening", "Afternoon", "Dusk"], 4)]
    elif kind == "who":
        q = f"Who is holding the {obj}?"
        ans = [f"The {o}." for o in rng.sample(OBJECTS, 4)]
    elif kind == "why":
        q = f"Why is the {obj} near the {obj2}?"
        ans = [f"To reach the {o}." for o in rng.sample(OBJECTS, 4)]
    else:
        q = f"How many {obj}s are in the picture?"
        ans = [f"{k}." for k in rng.sample(range(0, 12), 4)]
    return {
        "qa_id": qa_id,
        "image_id": image_id,
        "question": q,
        "answer": ans[0],
        "multiple_choices": ans[1:],
        "type": kind,
    }


def write_json(path, n_images, target_bytes, seed):
    """Stream {"images": [...]}, spreading QA pairs so the file lands near target."""
    rng = random.Random(seed ^ 0x7A7A)
    written = 0
    qa_id = 0
    splits = ("train", "val", "test")
    with open(path, "w", encoding="utf-8") as f:
        head = '{"images": ['
        f.write(head)
        written += len(head)
        for i in range(n_images):
            image_id = i + 1
            budget = target_bytes * (i + 1) // n_images - written
            img = {
                "image_id": image_id,
                "filename": f"v7w_{image_id}.jpg",
                "split": splits[0 if i % 10 < 7 else (1 if i % 10 < 8 else 2)],
                "qa_pairs": [],
            }
            base = len(json.dumps(img)) + 2
            est = base
            while est < budget:
                qa_id += 1
                qa = qa_pair(rng, qa_id, image_id)
                img["qa_pairs"].append(qa)
                est += len(json.dumps(qa)) + 2
            s = ("" if i == 0 else ", ") + json.dumps(img)
            f.write(s)
            written += len(s)
        tail = '], "dataset": "v7w-synthetic"}'
        f.write(tail)
        written += len(tail)
    return written, qa_id


def main():
    args = parse_args()
    out = os.path.abspath(args.out)
    stamp_path = out + ".stamp"
    want = wanted_stamp(args)
    if not args.force and os.path.isdir(out) and os.path.isfile(stamp_path):
        try:
            with open(stamp_path) as f:
                have = json.load(f)
        except (OSError, ValueError):
            have = {}
        if all(have.get(k) == v for k, v in want.items()):
            print(f"tree up to date: {out} ({have.get('total_bytes')} bytes, "
                  f"{have.get('total_files')} files)", file=sys.stderr)
            return 0

    t0 = time.time()
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    if os.path.exists(stamp_path):
        os.remove(stamp_path)
    os.makedirs(os.path.join(tmp, "images"))
    print(f"generating {args.files} images into {tmp}", file=sys.stderr, flush=True)
    img_bytes = write_images(os.path.join(tmp, "images"), args.files, args.seed)
    print("generating annotations.json", file=sys.stderr, flush=True)
    json_bytes, n_qa = write_json(os.path.join(tmp, "annotations.json"), args.files,
                                  int(args.json_mb * 1e6), args.seed)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    stamp = dict(want)
    stamp.update({
        "image_bytes": img_bytes,
        "json_bytes": json_bytes,
        "qa_pairs": n_qa,
        "total_bytes": img_bytes + json_bytes,
        "total_files": args.files + 1,
        "generated_in_s": round(time.time() - t0, 1),
    })
    with open(stamp_path, "w") as f:
        json.dump(stamp, f, indent=1)
        f.write("\n")
    print(f"done in {stamp['generated_in_s']} s: {stamp['total_files']} files, "
          f"{stamp['total_bytes'] / 1e9:.2f} GB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
