#!/usr/bin/env python3
"""Turns the two JSON results of run.sh into the Markdown section .bench/tokenize-results.md.

Usage: report.py RUST.json PYTHON.json COUNT BUILD_CMD PY
"""

import datetime
import json
import os
import subprocess
import sys


def machine():
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
    mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    return f"{model}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM"


def main():
    rust = json.load(open(sys.argv[1]))
    py = json.load(open(sys.argv[2]))
    count, build, python = sys.argv[3], sys.argv[4], sys.argv[5]
    texts = rust["texts"]
    load = os.getloadavg()[0]

    def row(name, seconds, digest, note=""):
        rate = texts / seconds
        speedup = py["slow_s"] / seconds
        same = "yes" if digest == py["slow_digest"] else "**no**"
        return f"| {name} | {seconds:.2f} | {rate:,.0f} | {speedup:.1f}x | {same} | {note} |"

    lines = [
        "## Tokenizer (`tokenize` stage)",
        "",
        f"Machine: {machine()}. Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"1-min load average at the end: {load:.1f} (other builds may share the cores).",
        "",
        f"Work: {count} generated Visual7W-like questions x 4 options = {texts:,} texts "
        "`\"{Question} {option}\"`, tokenized without special tokens with the fixture model "
        "`tests/fixtures/tokenizer/test.spm` (1,500-piece unigram, nmt_nfkc). Rust times are the median of 3 runs.",
        "",
        "| tokenizer | seconds | texts/s | vs slow | same ids as slow | note |",
        "|---|---|---|---|---|---|",
        f"| Python `XLMRobertaTokenizer` (slow, reference) | {py['slow_s']:.2f} | {texts / py['slow_s']:,.0f} | 1.0x | - | transformers {py['transformers']}, list comprehension of `encode` |",
    ]
    if "fast_s" in py:
        lines.append(row("Python `XLMRobertaTokenizerFast`", py["fast_s"], py["fast_digest"],
                         f"batch call, {py['fast_differs_from_slow']} texts differ from slow"))
    else:
        lines.append(f"| Python `XLMRobertaTokenizerFast` | - | - | - | - | did not load: {py['fast_error']} |")
    lines.append(row("Rust `TextTokenizer::encode_batch`, 1 thread", rust["encode_1t_s"], rust["digest"],
                     "normalizer + f32 unigram called directly, `TokenizerImpl` only for texts with `<`"))
    lines.append(row("Rust `TextTokenizer::encode_batch`, 2 threads", rust["encode_2t_s"], rust["digest"], "same, 2-thread rayon pool"))
    lines.append(row("Rust stock `TokenizerImpl::encode_batch_fast`, 2 threads", rust["stock_2t_s"], rust["stock_digest"],
                     "same components through the full `Encoding` machinery (one run)"))
    lines += [
        "",
        f"The whole `tokenize` stage on the same questions (read Parquet, tokenize on 2 CPUs, pack to 64, "
        f"write Parquet and report): **{rust['stage_s']:.2f} s**. Loading test.spm: {rust['load_s'] * 1000:.0f} ms.",
        "",
        "Commands:",
        "",
        "```sh",
        "bash benches/tokenize/run.sh",
        f"# builds with: {build}",
        f"# Python: {python} benches/tokenize/bench_python.py tests/fixtures/tokenizer/test.spm .bench/tokenize/questions.jsonl",
        "```",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
