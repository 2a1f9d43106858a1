# Shared setup of the run_*.sh end-to-end tests (sourced; not a test itself):
# a scratch store root with a busybox image "bb:latest" made by `mkimage import`.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "skipped: mkimage run needs root (overlay mounts, runc)"; exit 77; fi
if ! command -v runc >/dev/null; then echo "skipped: runc is not installed"; exit 77; fi
if [ ! -x /bin/busybox ]; then echo "skipped: /bin/busybox (busybox-static) is not installed"; exit 77; fi
: "${MKIMAGE:?MKIMAGE must point at the mkimage binary}"

WORK=$(mktemp -d /tmp/mkimage-e2e-run.XXXXXX)
export MKIMAGE_ROOT="$WORK/root"
M() { "$MKIMAGE" "$@"; }
cleanup() {
  local ids
  ids=$(M ps -a -q 2>/dev/null || true)
  for id in $ids; do M rm -f "$id" >/dev/null 2>&1 || true; done
  grep -q " $WORK/" /proc/self/mountinfo && { grep " $WORK/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l; }
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"; echo "ok: $3"; }

# The image: busybox, an applet symlink each, passwd with app (1000), a web root.
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/www"
cp /bin/busybox "$ROOTFS/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' > "$ROOTFS/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' > "$ROOTFS/etc/group"
echo "hello from the container" > "$ROOTFS/www/index.html"
chmod 1777 "$ROOTFS/tmp"
tar -C "$ROOTFS" -cf "$WORK/rootfs.tar" .
M import "$WORK/rootfs.tar" bb:latest -c 'ENV FOO=from-image' -c 'CMD ["/bin/sh","-c","echo default-cmd $FOO"]' >/dev/null

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}

# fetch_when_up PORT: the body of http://127.0.0.1:PORT/ once it answers (within
# about 5 s), else empty
fetch_when_up() {
  local body=""
  for _ in $(seq 1 50); do
    body=$(curl -s --max-time 2 "http://127.0.0.1:$1/" || true)
    [ -n "$body" ] && break
    sleep 0.1
  done
  printf '%s' "$body"
}
