#!/usr/bin/env bash
# A full disk never leaves silent damage: the store root and the output
# directory are small tmpfs mounts, filled up while a base layer is unpacked,
# while a RUN layer is committed, while -o type=local and --iidfile are written.
# Each build fails with "no space left on device", `store check --deep` is clean
# afterwards, and once there is room again the next build gives the same image
# ID and files as a build on a roomy store. Then `store check --deep [--repair]`
# against a corrupt snapshot, a stale snapshot directory and an orphaned blob.
. "$(dirname "$0")/../e2e/build_helpers.inc"
command -v mount >/dev/null || skip "mount is not installed"

ROOT=$W/root # MKIMAGE_ROOT (build_helpers.inc)
OUT=$W/out
mkdir -p "$ROOT" "$OUT"
mount -t tmpfs -o size=64m tmpfs "$ROOT" 2>/dev/null || skip "cannot mount a tmpfs"
mount -t tmpfs -o size=6m tmpfs "$OUT" || { umount "$ROOT"; skip "cannot mount a tmpfs"; }
cleanup() {
  cd /
  grep -F " $W/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

export SOURCE_DATE_EPOCH=1700000000 # the same image ID in every store

# avail DIR: free KiB
avail() { df -k --output=avail "$1" | tail -n 1 | tr -d ' '; }
# fill DIR KIB: a filler file leaving about KIB KiB free in DIR's file system (0: none)
fill() {
  local n=$(($(avail "$1") - $2))
  if [ "$2" = 0 ]; then
    dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null || true
  elif [ $n -gt 0 ]; then
    dd if=/dev/zero of="$1/filler" bs=1k count=$n 2>/dev/null || fail "cannot fill $1"
  fi
}
unfill() { rm -f "$1/filler"; }
# enospc LABEL: the build failed because the disk is full, and said so
enospc() { grep -qi 'no space left on device' "log.$1" || { tail -n 20 "log.$1"; fail "build $1: no 'no space left on device' in its output"; }; }
# check_clean LABEL: `store check --deep` finds nothing wrong (orphaned blobs of
# a failed build are allowed: complete blobs no row names yet)
check_clean() {
  "$MKIMAGE" store check --deep >"check.$1" 2>&1 || { cat "check.$1"; fail "$1: store check --deep failed"; }
  ! grep -E '^(corrupt|missing|stale|corrupt snapshot):' "check.$1" || fail "$1: store check --deep is not clean"
}
# snapshots: names under ROOT/snapshots (staging directories included)
snapshots() { ls -A "$ROOT/snapshots" 2>/dev/null | sort | tr '\n' ' '; }

# The base image: busybox and 8 MiB of random data (a 10 MiB layer).
mkdir -p base/bin base/etc
cp /bin/busybox base/bin/busybox && ln -s busybox base/bin/sh
echo 'root:x:0:0:root:/root:/bin/sh' >base/etc/passwd
head -c 8388608 /dev/urandom >base/big
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C base -cf base.tar .
mkdir c
cat >c/Dockerfile.a <<'DF'
FROM big:1
RUN sha256sum /big >/sum && head -c 100 /big >/head
DF
cat >c/Dockerfile.b <<'DF'
FROM big:1
RUN head -c 4194304 /big >/data
DF

# The reference: every build on a roomy store (plain disk).
export MKIMAGE_ROOT=$W/roomy
"$MKIMAGE" import base.tar big:1 -c 'CMD ["/bin/sh"]' >/dev/null 2>log.import || { cat log.import; fail "import (roomy)"; }
b ref-a -f c/Dockerfile.a --iidfile ref-a.iid -o "type=local,dest=$W/ref-out" c
b ref-b -f c/Dockerfile.b --iidfile ref-b.iid c
(cd base && sha256sum big) | sed 's/ big$/ \/big/' >want.sum
cmp -s want.sum ref-out/sum || fail "reference build: /sum is '$(cat ref-out/sum)'"

"$MKIMAGE" save -o big.tar big:1 2>log.save || { cat log.save; fail "save"; }

# The same image, loaded into the small store.
export MKIMAGE_ROOT=$ROOT
"$MKIMAGE" load -q -i big.tar >/dev/null 2>log.load || { cat log.load; fail "load (tmpfs)"; }
rm big.tar

# 1. Unpacking the base layer runs out of space: no snapshot is left behind, and
#    a later build (even --no-cache) unpacks it again, completely.
fill "$ROOT" 4096
b_fails 1 -f c/Dockerfile.a c
enospc 1
[ -z "$(snapshots)" ] || fail "a failed unpack left snapshots: $(snapshots)"
check_clean 1
b_fails 1b --no-cache -f c/Dockerfile.a c
enospc 1b
[ -z "$(snapshots)" ] || fail "a failed unpack left snapshots: $(snapshots)"
unfill "$ROOT"
b 1c --no-cache -f c/Dockerfile.a --iidfile 1c.iid c
cmp -s 1c.iid ref-a.iid || fail "build 1c: image $(cat 1c.iid), want $(cat ref-a.iid)"
check_clean 1c

# 2. Committing a RUN layer runs out of space (the upperdir fits, its blob does not).
before=$(snapshots)
fill "$ROOT" 6144
b_fails 2 -f c/Dockerfile.b c
enospc 2
[ "$(snapshots)" = "$before" ] || fail "a failed commit left snapshots: $(snapshots), before: $before"
unfill "$ROOT"
check_clean 2
b 2b -f c/Dockerfile.b --iidfile 2b.iid c
cmp -s 2b.iid ref-b.iid || fail "build 2b: image $(cat 2b.iid), want $(cat ref-b.iid)"
check_clean 2b

# 3. -o type=local (tar, oci, docker) onto a full output file system: no partial output.
b_fails 3 -f c/Dockerfile.a -o "type=local,dest=$OUT/rootfs" c
enospc 3
[ -z "$(ls -A "$OUT")" ] || fail "a failed local export left: $(ls -A "$OUT")"
mkdir "$OUT/existing" && echo keep >"$OUT/existing/file"
b_fails 3b -f c/Dockerfile.a -o "type=local,dest=$OUT/existing" c
enospc 3b
[ "$(ls -A "$OUT/existing")" = file ] || fail "a failed export into a directory left: $(ls -A "$OUT/existing")"
rm -rf "$OUT/existing"
b_fails 3d -f c/Dockerfile.a -o "type=tar,dest=$OUT/rootfs.tar" c
enospc 3d
b_fails 3e -f c/Dockerfile.a -o "type=oci,dest=$OUT/image.tar" c
enospc 3e
b_fails 3f -f c/Dockerfile.a -o "type=docker,dest=$OUT/image.tar" c
enospc 3f
[ -z "$(ls -A "$OUT")" ] || fail "a failed tar export left: $(ls -A "$OUT")"
mount -o remount,size=64m "$OUT" || fail "remount"
b 3c -f c/Dockerfile.a -o "type=local,dest=$OUT/rootfs" c
diff -r ref-out "$OUT/rootfs" >/dev/null || fail "the local export differs from the reference"
(cd ref-out && find . -printf '%p %y %m %l %U:%G\n' | sort) >meta.ref
(cd "$OUT/rootfs" && find . -printf '%p %y %m %l %U:%G\n' | sort) >meta.3c
diff meta.ref meta.3c || fail "the local export's metadata differs from the reference"
rm -rf "$OUT/rootfs"
mount -o remount,size=6m "$OUT" || fail "remount"
check_clean 3

# 4. --iidfile onto a full file system: the build fails, no empty or stale file.
fill "$OUT" 0
b_fails 4 -f c/Dockerfile.a --iidfile "$OUT/iid" c
enospc 4
[ "$(ls -A "$OUT")" = filler ] || fail "a failed --iidfile left: $(ls -A "$OUT")"
unfill "$OUT"
# (a failed build does not leave the image ID of an earlier one either)
echo stale >"$OUT/iid"
printf 'FROM big:1\nRUN exit 3\n' >c/Dockerfile.fails
b_fails 4a -f c/Dockerfile.fails --iidfile "$OUT/iid" c
[ ! -e "$OUT/iid" ] || fail "a failed build left the --iidfile '$(cat "$OUT/iid")'"
b 4b -f c/Dockerfile.a --iidfile "$OUT/iid" c
cmp -s "$OUT/iid" ref-a.iid || fail "build 4b: --iidfile has '$(cat "$OUT/iid")', want $(cat ref-a.iid)"

# 5. store check --deep: a corrupt snapshot (a file zeroed as a full disk used
#    to leave it), a stale snapshot directory and an orphaned blob.
snap=
for d in "$ROOT"/snapshots/*/; do [ -f "$d/big" ] && snap=$d; done
[ -n "$snap" ] || fail "no snapshot of the base layer"
size=$(stat -c %s "$snap/big")
truncate -s 0 "$snap/big" && truncate -s "$size" "$snap/big"
mkdir -p "$ROOT/snapshots/$(printf '%064d' 0)/etc"
printf 'orphan' >orphan && o=$(sha256sum orphan | cut -d' ' -f1)
cp orphan "$ROOT/blobs/sha256/$o" && touch -d '-1 hour' "$ROOT/blobs/sha256/$o"
if "$MKIMAGE" store check --deep >check.5 2>&1; then cat check.5; fail "store check --deep passed over a corrupt snapshot"; fi
grep -q '^corrupt snapshot: .*big.*content differs' check.5 || { cat check.5; fail "no corrupt snapshot reported"; }
grep -q "^stale: snapshots/$(printf '%064d' 0)" check.5 || { cat check.5; fail "no stale snapshot reported"; }
grep -q "^orphaned: sha256:$o" check.5 || { cat check.5; fail "no orphaned blob reported"; }
"$MKIMAGE" store check --deep --repair >check.5b 2>&1 || { cat check.5b; fail "store check --deep --repair failed"; }
[ ! -e "$snap" ] || fail "--repair kept the corrupt snapshot"
[ ! -e "$ROOT/snapshots/$(printf '%064d' 0)" ] || fail "--repair kept the stale snapshot"
[ ! -e "$ROOT/blobs/sha256/$o" ] || fail "--repair kept the orphaned blob"
check_clean 5
b 5c --no-cache -f c/Dockerfile.a --iidfile 5c.iid c
cmp -s 5c.iid ref-a.iid || fail "build 5c: image $(cat 5c.iid), want $(cat ref-a.iid)"
check_clean 5c
pass
