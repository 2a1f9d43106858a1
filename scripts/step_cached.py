#!/usr/bin/env python3
"""step_cached.py LOG TEXT: prints CACHED or RAN for the one step whose name
contains TEXT in a `--progress plain` build log (mkimage's or BuildKit's:
"#5 [3/5] COPY package.json /app" ... "#5 CACHED", or mkimage's "#5 CACHED (remote REF)"). Exits non-zero unless
exactly one step matches. Used by scripts/demo.sh and bench/goals/run.sh."""
import re
import sys

log, text = sys.argv[1], sys.argv[2]
names, cached = {}, set()
for line in open(log, errors="replace"):
    m = re.match(r"#(\d+) (.*)$", line.rstrip("\n"))
    if not m:
        continue
    n, rest = m.groups()
    if rest.strip() == "CACHED" or rest.startswith("CACHED (remote "):
        cached.add(n)
    elif rest.startswith("[") and n not in names:
        names[n] = rest
hits = [n for n, name in names.items() if text in name]
if len(hits) != 1:
    sys.exit(f"expected one step named '{text}', found {len(hits)}")
print("CACHED" if hits[0] in cached else "RAN")
