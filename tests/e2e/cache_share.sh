#!/usr/bin/env bash
# The build cache shared between two stores standing for two machines (separate
# roots, the same app checked out at different paths and times), through a
# registry on 127.0.0.1 (--cache-to/--cache-from type=registry, mode=max), an
# OCI layout directory (type=local) and the image config (type=inline):
#   - machine B's first build of the same commit is fully CACHED (remote) and
#     gives machine A's image ID;
#   - after a one-file edit on B only the dependent steps run;
#   - mode=min leaves out the builder stage, mode=max has it;
#   - a second export of an unchanged build writes nothing (one manifest GET);
#     an export after a one-layer change uploads that layer and the record only;
#   - lazy import: B's fully cached build of a multi-stage app fetches only the
#     final image's layers, never the builder stage's.
# Env: MKIMAGE (binary). Exit 77 = skipped.
set -u
source "$(dirname "$0")/registry_lib.bash"
[ "$(id -u)" = 0 ] || skip "needs root (RUN steps: overlayfs mounts and runc)"
command -v runc >/dev/null || skip "runc is not installed"
cd "$W"

step() { python3 "$SRC/scripts/step_cached.py" "log.$1" "$2"; }
want_step() { local g; g=$(step "$1" "$2") || fail "build $1: no step '$2'"; [ "$g" = "$3" ] || fail "build $1: '$2' is $g, want $3"; }
# build MACHINE LABEL DIR ARGS...: plain-progress build in store root W/MACHINE, logged in log.LABEL
build() {
  local root=$1 l=$2 dir=$3; shift 3
  MKIMAGE_ROOT=$W/$root "$MKIMAGE" build --progress plain -t app:latest "$@" "$dir" >"log.$l" 2>&1 ||
    { tail -n 25 "log.$l"; fail "build $l failed"; }
}
iid() { MKIMAGE_ROOT=$W/$1 "$MKIMAGE" image inspect -f '{{.Id}}' app:latest; }
remote_cached() { grep -c "CACHED (remote" "log.$1" || true; }
# ran LABEL: how many RUN/COPY/ADD/WORKDIR steps executed (not CACHED)
ran() {
  python3 - "log.$1" <<'PY'
import re, sys
names, cached = {}, set()
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"#(\d+) (.*)$", line.rstrip("\n"))
    if not m: continue
    n, rest = m.groups()
    if rest.startswith("CACHED"): cached.add(n)
    elif rest.startswith("[") and not rest.startswith("[internal]") and n not in names: names[n] = rest
print(sum(1 for n, t in names.items() if n not in cached and not re.search(r"\] FROM ", t)))
PY
}

reg_start main none
R=$REG_ADDR
mk_busybox_image base:1 v1
"$MKIMAGE" tag base:1 "$R/base:1" && "$MKIMAGE" push -q "$R/base:1" >/dev/null || fail "push base:1"

# The app: a builder stage whose output the final stage copies.
mkdir -p src
cat >src/Dockerfile <<DF
FROM $R/base:1 AS builder
COPY lib.txt /src/lib.txt
RUN ["/bin/busybox", "sh", "-c", "cat /src/lib.txt /src/lib.txt > /built.txt"]
RUN ["/bin/busybox", "sh", "-c", "echo intermediate > /only-in-builder"]
FROM $R/base:1
COPY --from=builder /built.txt /app/built.txt
COPY main.txt /app/main.txt
RUN ["/bin/busybox", "sh", "-c", "wc -c /app/main.txt > /app/size"]
DF
echo lib >src/lib.txt
echo main >src/main.txt
# Two checkouts: other paths, other mtimes.
cp -a src checkoutA
cp -r src checkoutB
touch -d '2001-01-01' checkoutA/* && touch -d '2011-11-11' checkoutB/*

# --- registry, mode=max ----------------------------------------------------------
CREF=$R/app-cache:main
build A a1 checkoutA --cache-to "type=registry,ref=$CREF,mode=max"
grep -q "exporting cache to registry $CREF" log.a1 || fail "a1: no export step"
build B b1 checkoutB --cache-from "type=registry,ref=$CREF"
[ "$(ran b1)" = 0 ] || { grep -E '^#[0-9]+ (DONE|CACHED)' log.b1; fail "b1: steps ran on B, want all cached"; }
[ "$(remote_cached b1)" -ge 5 ] || fail "b1: $(remote_cached b1) remote hits, want every step's"
grep -q "CACHED (remote $CREF)" log.b1 || fail "b1: remote hits do not name the source"
[ "$(iid A)" = "$(iid B)" ] || fail "image IDs differ: A $(iid A), B $(iid B)"
# lazy: the builder stage's own layers were never fetched on B
n_fetched=$(grep -oE 'fetching [0-9]+ cache layer' log.b1 | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
[ "${n_fetched:-0}" -le 3 ] || fail "b1 fetched $n_fetched layers, want only the final image's 3"
out=$(MKIMAGE_ROOT=$W/B "$MKIMAGE" run --rm app:latest /bin/busybox cat /app/built.txt 2>&1) || fail "run on B: $out"
[ "$out" = "$(printf 'lib\nlib')" ] || fail "B's image has '$out' in /app/built.txt"

# A one-file edit on B: only the dependent steps run.
echo main2 >checkoutB/main.txt
build B b2 checkoutB --cache-from "type=registry,ref=$CREF" --cache-to "type=registry,ref=$CREF,mode=max"
want_step b2 'COPY main.txt' RAN
want_step b2 'RUN ["/bin/busybox", "sh", "-c", "wc' RAN
want_step b2 'COPY --from=builder' CACHED
# the export after the edit: exactly the two new layers and the record set
grep -qE "^#[0-9]+ [0-9.]+ 3 blobs written" log.b2 || { grep "blobs written" log.b2; fail "b2: want exactly 2 layers + record set uploaded"; }

# A no-op export: nothing written, one manifest GET.
build B b3 checkoutB --cache-from "type=registry,ref=$CREF" --cache-to "type=registry,ref=$CREF,mode=max"
grep -q "cache is up to date" log.b3 || { grep -A3 "exporting cache" log.b3; fail "b3: an unchanged export wrote something"; }

# --- mode=min: the builder stage's records stay home ---------------------------
MINREF=$R/app-cache:min
build A a-min checkoutA --cache-to "type=registry,ref=$MINREF,mode=min"
build C c-min checkoutA --cache-from "type=registry,ref=$MINREF"
want_step c-min 'COPY lib.txt' RAN
want_step c-min 'COPY main.txt' CACHED

# --- type=local ------------------------------------------------------------------
build A a-local checkoutA --cache-to "type=local,dest=$W/cachedir,mode=max"
[ -f cachedir/index.json ] && [ -f cachedir/oci-layout ] || fail "type=local wrote no OCI layout"
build D d-local checkoutB --cache-from "type=local,src=$W/cachedir"
want_step d-local 'COPY lib.txt' CACHED
want_step d-local 'COPY main.txt' RAN   # checkoutB has the edit
build A a-local2 checkoutA --cache-to "type=local,dest=$W/cachedir,mode=max"
grep -q "cache is up to date" log.a-local2 || fail "a-local2: an unchanged local export wrote something"

# --- type=inline -------------------------------------------------------------------
build A a-inline checkoutA --output "type=image,name=$R/app:inline,push=true" --cache-to type=inline
build E e-inline checkoutA --cache-from "type=registry,ref=$R/app:inline" --cache-to type=inline
# inline records are mode=min: the final stage's steps hit, the builder stage runs
want_step e-inline 'COPY --from=builder' CACHED
want_step e-inline 'COPY main.txt' CACHED
want_step e-inline 'wc -c' CACHED
grep -q "CACHED (remote $R/app:inline)" log.e-inline || fail "e-inline: remote hits do not name the image"
[ "$(iid A)" = "$(iid E)" ] || fail "inline: image IDs differ: A $(iid A), E $(iid E)"

# --- a miss on top of several remote hits on a fresh store: their layers are
# fetched and registered bottom up before the step runs on them
mkdir -p chain && echo a >chain/a.txt
cat >chain/Dockerfile <<DF
FROM $R/base:1
COPY a.txt /a
RUN ["/bin/busybox", "sh", "-c", "cat /a /a > /b"]
ARG REV=1
RUN ["/bin/busybox", "sh", "-c", "echo \$REV > /rev"]
DF
build A chain1 chain --cache-to "type=registry,ref=$R/app-cache:chain"
build G chain2 chain --build-arg REV=2 --cache-from "type=registry,ref=$R/app-cache:chain"
want_step chain2 'COPY a.txt' CACHED
want_step chain2 'cat /a /a' CACHED
want_step chain2 'REV > /rev' RAN
out=$(MKIMAGE_ROOT=$W/G "$MKIMAGE" run --rm app:latest /bin/busybox cat /b /rev 2>&1)
[ "$out" = "$(printf 'a\na\n2')" ] || fail "chain2: the image has '$out'"
MKIMAGE_ROOT=$W/G "$MKIMAGE" store check >check.G 2>&1 || fail "store check on G: $(cat check.G)"

# --- cache mounts (mounts=true): restored on a fresh store before the first RUN ---
mkdir -p mnt
cat >mnt/Dockerfile <<DF
FROM $R/base:1
ARG V=1
RUN --mount=type=cache,id=dl,target=/cache ["/bin/busybox", "sh", "-c", "if [ -f /cache/pkg ]; then echo reused > /state; else echo fetched > /state; echo data-\$V > /cache/pkg; fi"]
DF
build A m1 mnt --cache-to "type=registry,ref=$R/app-cache:mounts,mounts=true"
# a fresh machine, a changed step (V=2 misses): the cache mount comes back
build F m2 mnt --build-arg V=2 --cache-from "type=registry,ref=$R/app-cache:mounts"
grep -q "restoring cache mount dl" log.m2 || fail "m2: the cache mount was not restored"
out=$(MKIMAGE_ROOT=$W/F "$MKIMAGE" run --rm app:latest /bin/busybox cat /state 2>&1)
[ "$out" = reused ] || fail "m2: RUN saw no restored cache mount (/state = '$out')"
# over mounts-max-size: left out with a warning, the build succeeds
build A m3 mnt --build-arg V=3 --cache-to "type=local,dest=$W/mcache,mounts=true,mounts-max-size=1"
grep -q "more than mounts-max-size" log.m3 || fail "m3: no warning for a cache mount over the cap"

pass
