#!/usr/bin/env python3
"""Python side of the tokenizer benchmark: the reference XLMRobertaTokenizer (slow, SentencePiece)
and, when it converts, XLMRobertaTokenizerFast, over the `"{Question} {option}"` texts of a
questions file (gen_questions.py). Prints one JSON object: seconds, texts, an FNV-1a digest of
all ids (the Rust side computes the same digest) and how many texts the fast tokenizer encodes
differently from the slow one.

Usage: bench_python.py SPM QUESTIONS.jsonl
"""

import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def texts_of(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            out.extend(f"{row['Question']} {row[k]}" for k in "ABCD")
    return out


def digest(all_ids):
    """FNV-1a 64 over each id as 4 little-endian bytes, each sequence followed by 0xFFFFFFFF."""
    h = 0xCBF29CE484222325
    mask = (1 << 64) - 1
    for ids in all_ids:
        for x in list(ids) + [0xFFFFFFFF]:
            for shift in (0, 8, 16, 24):
                h = ((h ^ ((x >> shift) & 0xFF)) * 0x100000001B3) & mask
    return f"{h:016x}"


def main():
    spm, questions = sys.argv[1], sys.argv[2]
    from transformers import XLMRobertaTokenizer, XLMRobertaTokenizerFast
    import transformers
    texts = texts_of(questions)
    result = {"texts": len(texts), "transformers": transformers.__version__}

    slow = XLMRobertaTokenizer(vocab_file=spm)
    slow.encode(texts[0], add_special_tokens=False)
    start = time.perf_counter()
    slow_ids = [slow.encode(t, add_special_tokens=False) for t in texts]
    result["slow_s"] = time.perf_counter() - start
    result["slow_digest"] = digest(slow_ids)

    try:
        fast = XLMRobertaTokenizerFast(vocab_file=spm)
    except Exception as error:  # conversion needs sentencepiece + protobuf
        result["fast_error"] = repr(error)
    else:
        fast(texts[:10], add_special_tokens=False)
        start = time.perf_counter()
        fast_ids = fast(texts, add_special_tokens=False)["input_ids"]
        result["fast_s"] = time.perf_counter() - start
        result["fast_digest"] = digest(fast_ids)
        result["fast_differs_from_slow"] = sum(a != b for a, b in zip(slow_ids, fast_ids))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
