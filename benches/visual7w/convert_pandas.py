#!/usr/bin/env python3
"""The `visual7w` conversion written with pandas, as a user would without `pipeline`.

    python convert_pandas.py JSON IMAGES_DIR OUT_DIR [--seed 42]

Same rules as the Rust stage: one directory listing into a set for the image-existence check,
questions dropped for unknown split, missing image, empty text, fewer/more than three wrong answers,
duplicate options (ignoring case and surrounding spaces) or a repeated qa_id; options shuffled with
a seeded generator (numpy's, so the letters differ from the Rust stage's: the shuffle is
equivalent, not identical); one zstd Parquet file per split and report.json.
Prints the in-process time (after imports) on stderr as `convert_seconds=<s>`.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import pandas as pd

SPLITS = ["train", "val", "test"]
LETTERS = np.array(["A", "B", "C", "D"])


def load(json_path, images_dir):
    with open(json_path, "rb") as handle:
        data = json.load(handle)
    frame = pd.json_normalize(data["images"], record_path="qa_pairs",
                              meta=["image_id", "filename", "split"], meta_prefix="img_")
    present = set(os.listdir(images_dir))
    return frame, present


def drop_reasons(frame, present):
    """A Series of reason names (None where the question is kept), first reason wins."""
    choices = frame["multiple_choices"]
    count = choices.str.len()
    padded = pd.DataFrame(choices.map(lambda c: (list(c) + ["", "", ""])[:3]).tolist(), index=frame.index)
    empty = frame["question"].str.strip().eq("") | frame["answer"].str.strip().eq("")
    empty |= choices.map(lambda c: any(not str(x).strip() for x in c))
    options = pd.concat([frame["answer"], padded], axis=1).apply(lambda col: col.str.strip().str.lower())
    cols = options.columns
    duplicate = pd.Series(False, index=frame.index)
    for i in range(4):
        for j in range(i + 1, 4):
            duplicate |= options[cols[i]].eq(options[cols[j]])
    rules = [
        ("unknown_split", ~frame["img_split"].isin(SPLITS)),
        ("missing_image", ~frame["img_filename"].isin(present)),
        ("empty_text", empty),
        ("too_few_choices", count < 3),
        ("too_many_choices", count > 3),
        ("duplicate_options", duplicate),
        ("duplicate_qa_id", frame["qa_id"].duplicated()),
    ]
    reason = pd.Series(None, index=frame.index, dtype=object)
    for name, mask in rules:
        reason = reason.where(reason.notna() | ~mask, name)
    return reason, [name for name, _ in rules]


def table(kept, split, rng):
    rows = kept[kept["img_split"] == split]
    wrong = np.array(rows["multiple_choices"].tolist(), dtype=object).reshape(-1, 3)
    options = np.column_stack([rows["answer"].to_numpy(dtype=object), wrong])
    order = rng.permuted(np.tile(np.arange(4), (len(rows), 1)), axis=1)
    shuffled = np.take_along_axis(options, order, axis=1)
    letters = LETTERS[(order == 0).argmax(axis=1)]
    return pd.DataFrame({
        "ID": [f"{split.upper()}_{n:05d}" for n in range(1, len(rows) + 1)],
        "img_path": rows["img_filename"].to_numpy(),
        "Question": rows["question"].to_numpy(),
        "A": shuffled[:, 0], "B": shuffled[:, 1], "C": shuffled[:, 2], "D": shuffled[:, 3],
        "answer": letters,
        "qa_id": rows["qa_id"].to_numpy(dtype=np.int64),
        "image_id": rows["img_image_id"].to_numpy(dtype=np.int64),
        "type": rows["type"].str.lower().to_numpy(),
    })


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("json")
    parser.add_argument("images")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    start = time.perf_counter()
    frame, present = load(args.json, args.images)
    reason, names = drop_reasons(frame, present)
    kept = frame[reason.isna()]
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    report = {"source": os.path.basename(args.json), "seed": args.seed, "qa_pairs": len(frame), "kept": {},
              "dropped": {name: int((reason == name).sum()) for name in names}}
    for split in SPLITS:
        rows = table(kept, split, rng)
        rows.to_parquet(os.path.join(args.out, f"{split}.parquet"), compression="zstd", index=False)
        report["kept"][split] = len(rows)
    with open(os.path.join(args.out, "report.json"), "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"convert_seconds={time.perf_counter() - start:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
