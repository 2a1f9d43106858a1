#!/usr/bin/env python3
"""bench/build/table.py SAMPLES.tsv LABEL...: the medians and ratios of a bench/build run.

SAMPLES.tsv rows: scenario, metric, who (mk:LABEL, buildkit, buildah, ref:NAME), seconds.
Prints markdown tables (docs/performance.md takes them as they are).
"""
import statistics
import sys
from collections import OrderedDict

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
labels = sys.argv[2:]
mks = [f"mk:{l}" for l in labels]
samples = OrderedDict()  # (scenario, metric) -> who -> [values]
failed = set()
for scen, metric, who, val in rows:
    d = samples.setdefault((scen, metric), OrderedDict()).setdefault(who, [])
    if val == "fail":
        failed.add((scen, metric, who))
    else:
        d.append(float(val))


def med(scen, metric, who):
    v = samples.get((scen, metric), {}).get(who)
    if not v or (scen, metric, who) in failed:
        return None
    return statistics.median(v)


def fmt(x, unit=""):
    if x is None:
        return "–"
    return f"{x:.3f}{unit}" if x < 10 else f"{x:.2f}{unit}"


def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


builders = mks + ["buildkit", "buildah"]
present = [b for b in builders if any(b in w for w in samples.values())]
names = {b: b[3:] if b.startswith("mk:") else ("BuildKit" if b == "buildkit" else "buildah") for b in present}

print("\nMedians, seconds (n = samples per cell):\n")
print("| scenario | metric | " + " | ".join(names[b] for b in present) + " | n |")
print("|" + " --- |" * (len(present) + 3))
for (scen, metric), d in samples.items():
    if metric.endswith("-MB") or metric == "cached":
        continue
    if not any(b in d for b in present):
        continue
    n = max(len(d.get(b, [])) for b in present)
    cells = [fmt(med(scen, metric, b)) + (" (failed)" if (scen, metric, b) in failed else "") for b in present]
    print(f"| {scen} | {metric} | " + " | ".join(cells) + f" | {n} |")

refs = [(k, w) for k, d in samples.items() for w in d if w.startswith("ref:")]
if refs:
    print("\nReferences measured in the same run (medians, seconds):\n")
    print("| scenario | reference | seconds | n |")
    print("| --- | --- | --- | --- |")
    for (scen, metric), w in refs:
        name = w[4:].replace("|", "\\|")  # a pipe inside a markdown cell
        print(f"| {scen} {metric} | `{name}` | {fmt(med(scen, metric, w))} | {len(samples[(scen, metric)][w])} |")

print("\nRatios (mkimage / other; below 1 = mkimage faster):\n")
others = [b for b in ("buildkit", "buildah") if b in present]
cols = [(m, o) for m in mks if m in present for o in others]
print("| scenario | metric | " + " | ".join(f"{names[m]} / {names[o]}" for m, o in cols) + " |")
print("|" + " --- |" * (len(cols) + 2))
for (scen, metric), d in samples.items():
    if metric.endswith("-MB") or metric == "cached" or not any(m in d for m in mks):
        continue
    print(f"| {scen} | {metric} | " + " | ".join(ratio(med(scen, metric, m), med(scen, metric, o)) for m, o in cols) + " |")

# Against the physical references.
lines = []
for m in mks:
    if m not in present:
        continue
    walk = med("bigctx", "warm", "ref:stat walk: find -printf '%s %T@'")
    w = med("bigctx", "warm", m)
    rss = samples.get(("bigctx", "warm-rss-MB"), {}).get(m)
    if w is not None and walk:
        lines.append(f"| {names[m]} | bigctx warm / stat walk | {w / walk:.2f}× | ≤ 1.25× |")
    if rss:
        lines.append(f"| {names[m]} | bigctx warm peak RSS | {max(rss):.0f} MB | < 64 MB |")
    host = med("sleeps", "cold", "ref:3 sleeps at once on the host")
    s = med("sleeps", "cold", m)
    if s is not None and host:
        lines.append(f"| {names[m]} | sleeps cold / 3 sleeps on the host | {s / host:.2f}× | |")
    run = med("gib", "cold", "ref:the RUN on the host")
    sha = med("gib", "cold", "ref:openssl dgst -sha256 (SHA-NI) of the tar")
    for b in [m] + (others if m == mks[0] else []):
        g = med("gib", "cold", b)
        if g is not None and run is not None and sha:
            lines.append(f"| {names[b]} | gib: (build − host RUN) / SHA-NI hash | {(g - run):.2f} s / {sha:.2f} s = {(g - run) / sha:.2f}× | ≤ 1.25× (mkimage) |")
if lines:
    print("\nAgainst the physical limits:\n")
    print("| builder | measure | value | target |")
    print("| --- | --- | --- | --- |")
    print("\n".join(lines))
