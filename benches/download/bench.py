"""Times each download tool on the bench inputs and prints one Markdown section.

Every case is run REPEAT times into a fresh folder; the table shows the median wall time and the
throughput it gives. Cases:
  big:  download BIG_MIB MiB and check its SHA-256 (or BLAKE3)
  zip:  download the zip of many small files and unpack it

usage: python3 bench.py FETCH_BIN DATA_DIR WORK_DIR PORT REPEAT PY_WITH_REQUESTS
"""
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time

fetch, data, work, port, repeat, py = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
base = f"http://127.0.0.1:{port}"
big = os.path.join(data, "big.bin")
archive = os.path.join(data, "images.zip")


with open(big, "rb") as f:
    SHA = hashlib.file_digest(f, "sha256").hexdigest()

PY_BIG = f"""
import hashlib, requests, sys
h = hashlib.sha256()
with requests.get("{base}/big.bin", stream=True) as r, open(sys.argv[1] + "/big.bin", "wb") as f:
    r.raise_for_status()
    for chunk in r.iter_content(1 << 20):
        f.write(chunk); h.update(chunk)
assert h.hexdigest() == "{SHA}", "checksum mismatch"
"""
PY_ZIP = f"""
import requests, shutil, sys, zipfile
with requests.get("{base}/images.zip", stream=True) as r, open(sys.argv[1] + "/images.zip", "wb") as f:
    r.raise_for_status()
    shutil.copyfileobj(r.raw, f, 1 << 20)
with zipfile.ZipFile(sys.argv[1] + "/images.zip") as z:
    z.extractall(sys.argv[1] + "/images")
"""
SH_BIG = 'curl -sSf -o "$0/big.bin" {url} && echo "{sha}  $0/big.bin" | sha256sum -c --quiet'
SH_WGET = 'wget -q -O "$0/big.bin" {url} && echo "{sha}  $0/big.bin" | sha256sum -c --quiet'
SH_ZIP = 'curl -sSf -o "$0/images.zip" {url} && unzip -q "$0/images.zip" -d "$0/images"'

CASES = [
    ("big", "pipeline `download`, checksum sha256", [fetch, f"{base}/big.bin", "{out}", f"checksum='sha256:{SHA}'"]),
    ("big", "pipeline `download`, no checksum (logs the BLAKE3)", [fetch, f"{base}/big.bin", "{out}"]),
    ("big", "curl + sha256sum", ["bash", "-c", SH_BIG.format(url=f"{base}/big.bin", sha=SHA), "{out}"]),
    ("big", "wget + sha256sum", ["bash", "-c", SH_WGET.format(url=f"{base}/big.bin", sha=SHA), "{out}"]),
    ("big", "Python requests + hashlib (streamed)", [py, "-c", PY_BIG, "{out}"]),
    ("zip", "pipeline `download`, extract = true", [fetch, f"{base}/images.zip", "{out}", "extract=true"]),
    ("zip", "curl + unzip", ["bash", "-c", SH_ZIP.format(url=f"{base}/images.zip"), "{out}"]),
    ("zip", "Python requests + zipfile.extractall", [py, "-c", PY_ZIP, "{out}"]),
]


def run(command):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    started = time.perf_counter()
    subprocess.run([part.replace("{out}", out) for part in command], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


sizes = {"big": os.path.getsize(big), "zip": os.path.getsize(archive)}
print("| case | tool | median s | MiB/s | runs (s) |")
print("| --- | --- | ---: | ---: | --- |")
for case, tool, command in CASES:
    times = [run(command) for _ in range(repeat)]
    median = statistics.median(times)
    rate = sizes[case] / median / (1 << 20)
    shown = ", ".join(f"{t:.2f}" for t in times)
    print(f"| {case} | {tool} | {median:.2f} | {rate:.0f} | {shown} |", flush=True)
shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
