#!/usr/bin/env bash
# `mkimage cache ls|du|prune`, `system df` and the bytes `image prune` reports,
# against the files on disk: entries appear with their step text, a rebuild
# counts hits, the accounting matches `du -sb` of blobs + snapshots, prune
# --keep-storage leaves the store under the bound, and what is left is
# complete (`store check --deep` clean, images run and save).
. "$(dirname "$0")/build_helpers.inc"

# Bytes of blobs + snapshots as du counts them.
disk() { du -sb "$MKIMAGE_ROOT/blobs/sha256" "$MKIMAGE_ROOT/snapshots" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
# within A B PERCENT: |A - B| <= PERCENT% of B + 64 KiB (directory entries)
within() { python3 -c "import sys; a, b, p = map(int, sys.argv[1:]); sys.exit(0 if abs(a - b) <= b * p // 100 + 65536 else 1)" "$@"; }
total_bytes() { "$MKIMAGE" cache du | sed -n 's/^Total:.*(\([0-9]*\) bytes)$/\1/p'; }
# entry FIELD STEP-TEXT: a field of the `cache ls --format json` entry whose step contains TEXT
entry() {
  "$MKIMAGE" cache ls --format json | python3 -c '
import json, sys
field, text = sys.argv[1], sys.argv[2]
hits = [json.loads(l) for l in sys.stdin if l.strip()]
hits = [e for e in hits if text in e["Description"]]
if len(hits) != 1: sys.exit("%d entries with %r" % (len(hits), text))
print(hits[0][field])' "$1" "$2"
}

ctx app
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n' >app/Dockerfile.base
b base -t base -f app/Dockerfile.base app
printf 'FROM base\nRUN dd if=/dev/urandom of=/big1 bs=64k count=16 2>/dev/null\nRUN echo one >/one\n' >app/Dockerfile.one
printf 'FROM base\nRUN dd if=/dev/urandom of=/big2 bs=64k count=24 2>/dev/null\nRUN echo two >/two\n' >app/Dockerfile.two
b one -t one -f app/Dockerfile.one app
b two -t two -f app/Dockerfile.two app

# ls: every step that made a layer, with its text, size and no hit yet.
[ "$(entry UsageCount 'RUN echo one')" = 0 ] || fail "a fresh entry has hits"
size=$(entry Size 'RUN dd if=/dev/urandom of=/big1')
[ "$size" -gt $((2 * 1024 * 1024)) ] || fail "the 1 MiB layer's entry (blob + snapshot) is $size bytes"
"$MKIMAGE" cache ls >log.ls || fail "cache ls"
head -n 1 log.ls | grep -q '^CACHE ID *SIZE *CREATED *LAST USED *HITS *SHARED *STEP' || { cat log.ls; fail "cache ls header"; }
grep -qF '[3/3] RUN echo one' log.ls || { cat log.ls; fail "cache ls lacks the step text"; }

# A rebuild counts hits. Last use is kept in seconds: the rebuilds come a second
# after 'two' was built, so 'one' is the more recently used below.
sleep 1.1
b one-again -t one -f app/Dockerfile.one app
cache one-again 'RUN echo one' HIT
[ "$(entry UsageCount 'RUN echo one')" = 1 ] || fail "hits after one rebuild: $(entry UsageCount 'RUN echo one')"
b one-third -t one -f app/Dockerfile.one app
[ "$(entry UsageCount 'RUN echo one')" = 2 ] || fail "hits after two rebuilds: $(entry UsageCount 'RUN echo one')"

# du and system df against the disk.
total=$(total_bytes)
on_disk=$(disk)
within "$total" "$on_disk" 2 || fail "cache du counts $total bytes, du -sb $on_disk"
"$MKIMAGE" cache du >log.du || fail "cache du"
for k in images 'images and build cache' 'build cache' 'running builds' unreferenced total; do
  grep -q "^$k " log.du || { cat log.du; fail "cache du lacks '$k'"; }
done
"$MKIMAGE" system df >log.df || fail "system df"
head -n 1 log.df | grep -q '^TYPE *TOTAL *ACTIVE *SIZE *RECLAIMABLE$' || { cat log.df; fail "system df header"; }
for t in Images Containers 'Local Volumes' 'Build Cache'; do grep -q "^$t " log.df || { cat log.df; fail "system df lacks $t"; }; done
"$MKIMAGE" system df --format json >log.dfj || fail "system df --format json"
python3 - log.dfj <<'PY' || fail "system df --format json"
import json, sys
rows = {r["Type"]: r for r in map(json.loads, open(sys.argv[1]))}
assert set(rows) == {"Images", "Containers", "Local Volumes", "Build Cache"}, rows
assert rows["Images"]["TotalCount"] == "3", rows["Images"]
assert set(rows["Build Cache"]) == {"Type", "TotalCount", "Active", "Size", "Reclaimable"}
PY
"$MKIMAGE" system df -v >log.dfv || fail "system df -v"
grep -q '^Build cache usage: ' log.dfv || fail "system df -v lacks the build cache"

# Images gone, their layers stay as cache; prune --keep-storage frees least recently used leaves.
"$MKIMAGE" rmi one two >log.rmi || { cat log.rmi; fail "rmi"; }
before=$(disk)
bound=$((before - 2 * 1024 * 1024))
"$MKIMAGE" cache prune -f --keep-storage "$bound" >log.prune || { cat log.prune; fail "cache prune --keep-storage"; }
grep -q '^Deleted build cache objects:$' log.prune || { cat log.prune; fail "prune deleted nothing"; }
grep -q '^Total reclaimed space: ' log.prune || fail "prune output"
after=$(disk)
[ "$after" -le $((bound + 65536)) ] || fail "after prune --keep-storage $bound the store takes $after bytes"
# The least recently used leaf went first: 'two' (built before one's rebuilds).
entry Size 'RUN echo one' >/dev/null || fail "the recently used entries of 'one' went"
"$MKIMAGE" store check --deep >log.check 2>&1 || { cat log.check; fail "store check --deep after prune"; }
grep -qE '^(missing|corrupt|stale)' log.check && { cat log.check; fail "store check --deep found damage"; }
"$MKIMAGE" run --rm base /bin/true >log.run 2>&1 || { cat log.run; fail "the base image does not run after prune"; }
"$MKIMAGE" save -o base.tar base >log.save 2>&1 || { cat log.save; fail "save after prune"; }
# A rebuild after the prune works (the pruned steps run again).
b one-after -t one -f app/Dockerfile.one app
"$MKIMAGE" run --rm one cat /one >log.one 2>&1 && grep -qx one log.one || { cat log.one; fail "one after prune"; }

# A filter that matches nothing removes nothing; a bad one is a usage error.
"$MKIMAGE" cache prune -f --filter until=24h >log.until || fail "prune --filter until=24h"
grep -q '^Total reclaimed space: 0B$' log.until || { cat log.until; fail "until=24h removed recent entries"; }
"$MKIMAGE" cache prune -f --filter label=x >log.bad 2>&1 && fail "an unknown filter was accepted"
grep -q "invalid filter 'label=x'" log.bad || { cat log.bad; fail "unknown filter message"; }
"$MKIMAGE" cache prune -f --keep-storage lots >log.bad 2>&1 && fail "a bad size was accepted"
grep -q "invalid size: 'lots'" log.bad || { cat log.bad; fail "bad size message"; }

# prune --all, then image prune -a: each reports the bytes it really freed.
before=$(disk)
"$MKIMAGE" cache prune -a -f >log.all || fail "cache prune -a"
after=$(disk)
[ "$(total_bytes)" -gt 0 ] || fail "prune -a removed the images' layers"
"$MKIMAGE" cache ls -q >log.left
[ ! -s log.left ] || { cat log.left; fail "entries left after prune -a"; }
before=$(disk)
"$MKIMAGE" image prune -a -f >log.iprune || { cat log.iprune; fail "image prune -a"; }
after=$(disk)
reported=$(sed -n 's/^Total reclaimed space: //p' log.iprune)
python3 - "$reported" $((before - after)) <<'PY' || fail "image prune reported $reported, the disk lost $((before - after)) bytes"
import re, sys
m = re.fullmatch(r"([0-9.]+)(B|kB|MB|GB)", sys.argv[1])
n = float(m.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(2)]
freed = int(sys.argv[2])
sys.exit(0 if freed > 0 and abs(n - freed) <= freed * 0.05 + 65536 else 1)
PY
"$MKIMAGE" store check --deep >log.check 2>&1 || { cat log.check; fail "store check --deep at the end"; }
pass
