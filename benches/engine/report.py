#!/usr/bin/env python3
"""Render .bench/results/ (written by benches/engine/run.sh) as a Markdown section."""

import json
import os
import statistics
import sys

RES = sys.argv[1]


def read_meta():
    meta = {}
    with open(os.path.join(RES, "meta.tsv"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    return meta


META = read_meta()
REPO = META.get("repo", "")
ORDER = [l.strip() for l in open(os.path.join(RES, "order.txt")) if l.strip()]


def stats(name):
    """{'mean','sd','min','max','n'} for a measured row, or None."""
    p = os.path.join(RES, name + ".json")
    if os.path.exists(p):
        r = json.load(open(p))["results"][0]
        times = r.get("times") or [r["mean"]]
        cpu = r.get("user", 0.0) + r.get("system", 0.0)
    else:
        p = os.path.join(RES, name + ".times")
        if not os.path.exists(p):
            return None
        times = [float(x) for x in open(p) if x.strip()]
        if not times:
            return None
        cpu = None
    return {
        "mean": statistics.fmean(times),
        "sd": statistics.stdev(times) if len(times) > 1 else 0.0,
        "min": min(times),
        "max": max(times),
        "n": len(times),
        "cpu": cpu,
    }


def failure(name):
    p = os.path.join(RES, name + ".fail")
    if os.path.exists(p):
        first = open(p).read().strip().splitlines()
        tail = [l for l in first[1:] if l.strip()]
        return first[0] + (": `" + tail[-1].strip()[:120] + "`" if tail else "")
    return None


def pipeline_reason():
    st = META.get("pipeline_status", "not run")
    return "" if st == "ok" else st


def fmt_time(s):
    if s is None:
        return None
    if s["n"] == 1:
        return f"{s['mean']:.3f} s"
    cpu = f" (CPU {s['cpu']:.2f} s)" if s.get("cpu") else ""
    return f"{s['mean']:.3f} ± {s['sd']:.3f} s{cpu}"


NOTES = []


def not_measured(name, is_pipeline):
    """'not measured [n]', the reason going to footnote n."""
    why = failure(name) or (pipeline_reason() if is_pipeline else "") or "not run"
    if why not in NOTES:
        NOTES.append(why)
    return f"not measured [{NOTES.index(why) + 1}]"


def flush_notes(w):
    for i, why in enumerate(NOTES):
        w(f"[{i + 1}] {why}" + ("  " if i + 1 < len(NOTES) else ""))
    if NOTES:
        w("")
    NOTES.clear()


def shell(cmd):
    return cmd.replace(REPO, "$REPO") if REPO else cmd


def main():
    m = META
    total_bytes = int(m["total_bytes"])
    total_files = int(m["total_files"])
    stamp = json.load(open(os.path.join(RES, "tree.stamp")))
    out = []
    w = out.append

    w("## Engine benchmark: hashing and no-op reruns")
    w("")
    w(f"- Date: {m.get('date')}; script: `bash benches/engine/run.sh` "
      f"(total {float(m.get('total_s', 0)):.0f} s)")
    w(f"- Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('ram')} RAM, "
      f"{m.get('kernel')}, {m.get('fs')} file system")
    pv = m.get("pipeline_version") or ""
    w(f"- pipeline: git {m.get('pipeline_rev')}"
      + (f", `{pv}`" if pv else "")
      + (f"; **{m['pipeline_status']}**" if m.get("pipeline_status") != "ok" else ""))
    w(f"- {m.get('b3sum_version')}; DVC {m.get('dvc_version')}; {m.get('hyperfine_version')}; "
      f"{m.get('rustc_version')}; {m.get('python_version')}")
    parts = [(k[len("section_s_"):], v) for k, v in m.items() if k.startswith("section_s_")]
    w("- Wall time per part of the script: " + ", ".join(f"{k} {float(v):.0f} s" for k, v in parts)
      + (f" (each timed part first waited up to {m['wait_idle']} s for an idle machine)"
         if m.get("wait_idle", "0") not in ("", "0") else ""))
    loads = {k[len("load_before_"):]: v for k, v in m.items() if k.startswith("load_before_")}
    busy = {k: v for k, v in loads.items() if float(v.split()[0]) > 0.5}
    w("- Load average (1/5/15 min) before each part: "
      + "; ".join(f"{k} {v}" for k, v in loads.items()))
    if busy:
        w("  - **Note:** the machine was not idle (1-min load > 0.5 before: "
          + ", ".join(busy) + "); other work shared the cores, so these numbers are "
          "pessimistic for every tool.")
    if m.get("warning"):
        w(f"- **Warning:** {m['warning']}")
    w("")
    w(f"Data: a Visual7W-shaped tree made by `benches/engine/gen_tree.py` (seed {stamp['seed']}, "
      "deterministic, byte-identical on every machine): "
      f"{stamp['files']:,} incompressible JPEG-sized files (100-220 KiB, mean "
      f"{stamp['image_bytes'] / max(1, stamp['files']) / 1024:.0f} KiB) in one flat `images/` folder "
      f"and `annotations.json` ({stamp['json_bytes'] / 1e6:.0f} MB, {stamp['qa_pairs']:,} QA pairs), "
      f"{total_bytes / 1e9:.2f} GB in {total_files:,} files.")
    w("")

    # ---- hashing
    w("### Cold hashing, warm page cache")
    w("")
    w("Before timing, one untimed read pass (`find .bench/tree -type f -print0 | xargs -0 cat "
      f"> /dev/null`, {float(m.get('warm_read_s_hash', 0)):.1f} s) puts the whole tree in the page cache; "
      f"each row is {m.get('hash_runs')} timed runs after 1 warm-up run. \"Cold\" means no stat "
      "cache: `PIPELINE_CACHE_DIR` is deleted before every run.")
    w("")
    w("| what | time (mean ± sd) | GB/s | files/s | vs best b3sum |")
    w("| --- | --- | --- | --- | --- |")
    rows = [
        ("hash_b3sum_default", "b3sum, default threads (`xargs -0 b3sum`)", False),
        ("hash_b3sum_percore", f"b3sum, {m.get('cores')} single-threaded processes "
                               "(`xargs -0 -P N -n 2000 b3sum --num-threads 1`)", False),
        ("hash_pipeline_cold", "`pipeline hash`, cold stat cache (fresh cache dir)", True),
        ("hash_pipeline_nostatcache", "`pipeline hash --no-stat-cache`", True),
        ("hash_pipeline_warmstat", "`pipeline hash`, warm stat cache (info)", True),
    ]
    b3 = [s for s in (stats("hash_b3sum_default"), stats("hash_b3sum_percore")) if s]
    best_b3 = min((s["mean"] for s in b3), default=None)
    cold = stats("hash_pipeline_cold")
    for name, label, is_pipe in rows:
        if name == "hash_pipeline_nostatcache" and name not in ORDER:
            continue
        s = stats(name)
        if s is None:
            w(f"| {label} | {not_measured(name, is_pipe)} | | | |")
            continue
        rel = f"{best_b3 / s['mean'] * 100:.0f} %" if best_b3 else "n/a"
        w(f"| {label} | {fmt_time(s)} | {total_bytes / s['mean'] / 1e9:.2f} | "
          f"{total_files / s['mean']:,.0f} | {rel} |")
    w("")
    flush_notes(w)
    if cold and best_b3:
        pct = best_b3 / cold["mean"] * 100
        w(f"Target, cold `pipeline hash` >= 80 % of b3sum's throughput: **{pct:.0f} %, "
          f"{'met' if pct >= 80 else 'NOT met'}**.")
    else:
        w("Target, cold `pipeline hash` >= 80 % of b3sum's throughput: **not measured**.")
    if m.get("pipeline_json_digest"):
        pj = m["pipeline_json_digest"].split()[0] if m["pipeline_json_digest"].split() else ""
        bj = m.get("b3sum_json_digest", "").split()[0]
        same = "same as b3sum's" if pj == bj else "differs from b3sum's plain BLAKE3 (different digest scheme?)"
        w(f"`pipeline hash annotations.json` printed `{pj[:16]}…`, {same}. "
          f"Tree digest: `{m.get('pipeline_tree_digest', '')[:80]}`.")
    w("")

    # ---- no-op reruns
    w("### No-op rerun of a 6-stage chain")
    w("")
    w("The same chain in both tools: stage 1 depends on `images/` and `annotations.json` and "
      "writes the image count to a small file; stages 2-6 each copy the previous stage's file "
      "(`benches/engine/pipeline.toml`; the DVC project is made by run.sh in `.bench/dvc-proj*`, "
      "a git repo with `dvc init`, DVC's state db inside the project so the first run is cold). "
      f"First run: 1 timed run from an empty cache. No-op: {m.get('noop_runs')} timed runs after "
      "1 warm-up run, nothing changed. Page cache warm. CPU = mean user + system time "
      "(less sensitive than wall time to other load on the machine).")
    w("")
    w("| images in tree | DVC first `dvc repro` | DVC no-op `dvc repro` | "
      "pipeline first run | pipeline no-op run | no-op speedup |")
    w("| --- | --- | --- | --- | --- | --- |")
    tags = [("main", int(m.get("scale_main", 0)))] + sorted(
        ((k[len("scale_"):], int(v)) for k, v in m.items() if k.startswith("scale_n")),
        key=lambda t: t[1])
    verdict = None
    for tag, n in sorted(tags, key=lambda t: t[1]):
        cells = []
        for name, is_pipe in ((f"dvc_cold_{tag}", False), (f"dvc_noop_{tag}", False),
                              (f"pipeline_cold_{tag}", True), (f"pipeline_noop_{tag}", True)):
            s = stats(name)
            cells.append(fmt_time(s) if s else not_measured(name, is_pipe))
        dn, pn = stats(f"dvc_noop_{tag}"), stats(f"pipeline_noop_{tag}")
        speed = f"{dn['mean'] / pn['mean']:.1f}x" if dn and pn else "n/a"
        w(f"| {n:,} | " + " | ".join(cells) + f" | {speed} |")
        if tag == "main":
            verdict = (dn, pn)
    w("")
    flush_notes(w)
    dn, pn = verdict or (None, None)
    if pn:
        w(f"Targets on the {int(m.get('scale_main', 0)):,}-image tree: no-op rerun < 0.3 s: "
          f"**{pn['mean']:.3f} s, {'met' if pn['mean'] < 0.3 else 'NOT met'}**; "
          + (f">= 10x faster than DVC: **{dn['mean'] / pn['mean']:.1f}x, "
             f"{'met' if dn['mean'] / pn['mean'] >= 10 else 'NOT met'}**." if dn else
             ">= 10x faster than DVC: **not measured** (DVC failed)."))
    else:
        w("Targets (no-op rerun < 0.3 s, >= 10x faster than DVC): **not measured** for pipeline.")
    checks = []
    for tag, n in tags:
        for tool in ("dvc", "pipeline"):
            c, nn = m.get(f"execs_{tool}_cold_{tag}"), m.get(f"execs_{tool}_noop_{tag}")
            if nn is not None:
                checks.append((tool, n, int(c), int(nn)))
    if checks:
        bad = [c for c in checks if c[3] != 0 or c[2] != 6]
        if not bad:
            w("Check: every first run executed all 6 stages and no no-op run executed any stage.")
        else:
            for tool, n, c, nn in bad:
                w(f"**Check failed:** {tool}, {n:,} images: first run executed {c} stage(s) "
                  f"(want 6), no-op runs executed {nn} (want 0).")
    w("")

    # ---- commands
    w("### Exact commands")
    w("")
    w("`$REPO` is the repository root. Timed with hyperfine (`--runs N --warmup 1 --shell bash`,"
      " `--prepare` where given); single first runs timed by the script.")
    w("")
    w("```sh")
    w(f"python3 benches/engine/gen_tree.py --out .bench/tree --files {stamp['files']} "
      f"--json-mb {stamp['json_mb']:g} --seed {stamp['seed']}")
    seen = set()
    for name in ORDER:
        if name in seen or not os.path.exists(os.path.join(RES, name + ".cmd")):
            continue
        seen.add(name)
        cmd = open(os.path.join(RES, name + ".cmd")).read().strip()
        prep = open(os.path.join(RES, name + ".prepare")).read().strip()
        w(f"# {name}" + (f"   (prepare: {shell(prep)})" if prep else ""))
        w(shell(cmd))
    w("```")
    w("")
    dy = os.path.join(RES, "dvc.yaml")
    if os.path.exists(dy):
        w("The DVC project (`git init`, `dvc init`, `dvc config --local core.site_cache_dir "
          "<project>/.dvc/tmp/site-cache`, then one `dvc stage add -n sN -d ... -o sN.txt CMD` "
          "per stage, committed to git) has this `dvc.yaml`:")
        w("")
        w("```yaml")
        w(shell(open(dy).read().rstrip()))
        w("```")
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
