#!/usr/bin/env bash
# Portable cache keys (docs/cache-keys.md "Portable keys"): the same small app,
# cloned twice — at other paths, with other mtimes, under umask 022 and 002, one
# clone owned by 1234:1234, built under another hostname — and built into two
# separate stores gives the same key for every step; with SOURCE_DATE_EPOCH
# pinned, the same image ID too. Changing a file's bytes changes the COPY key.
. "$(dirname "$0")/build_helpers.inc"
command -v git >/dev/null || skip "git is not installed"

# The app, committed to a small repository. Its Dockerfile keeps no mode that a
# checkout's umask decides: files get --chmod, the context directory itself is
# always 0755, and the local tar is unpacked (its own mode never reaches a layer).
mkdir -p repo/app/lib repo/vendor-src
cd repo
printf 'echo main\n' >app/main.sh
printf 'true\n' >app/lib/util.sh
printf '#!/bin/sh\necho run\n' >app/run.sh && chmod +x app/run.sh
ln -s lib app/current
printf 'vendored\n' >vendor-src/v.txt
tar -C vendor-src --owner=0 --group=0 --mtime=@1500000000 --sort=name -cf vendor.tar .
rm -r vendor-src
printf '**/*.log\n' >.dockerignore
cat >Dockerfile <<'EOF'
FROM scratch
COPY --chmod=0755 busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
WORKDIR /app
COPY --chmod=u=rwX,go=rX app/ ./
ADD vendor.tar /opt/vendor/
COPY --exclude=* . /ctx/
COPY --chmod=0644 <<CONF /etc/app.conf
name=portable
CONF
RUN <<SH
find /app /opt /ctx /etc/app.conf | sort | while read -r p; do stat -c '%n %a %u:%g' "$p"; done >/listing
hostname >>/listing
SH
EOF
git init -q . && git add -A && git -c user.name=t -c user.email=t@t commit -qm app || fail "git commit"
cd "$W"

# checkout DIR UMASK DATE: a clone under UMASK (plus busybox, not committed),
# every entry's mtime set to DATE
checkout() {
  (umask "$2" && git clone -q "$W/repo" "$1" && cp /bin/busybox "$1/busybox") || fail "git clone into $1"
  rm -rf "$1/.git"
  find "$1" -exec touch -h -d "$3" {} + || fail "touch $1"
}
checkout "$W/a/src" 022 '2021-03-04 05:06:07'
checkout "$W/b/other/place/src" 002 '2023-11-12 13:14:15'
printf 'local build output\n' >"$W/b/other/place/src/app/debug.log"  # .dockerignore'd
chown -R 1234:1234 "$W/b" || skip "chown is not permitted here"
[ "$(stat -c %a "$W/b/other/place/src/app/main.sh")" = 664 ] || fail "umask 002 clone is not 0664"
[ "$(stat -c %a "$W/a/src/app/main.sh")" = 644 ] || fail "umask 022 clone is not 0644"

# Machine b runs mkimage under another hostname when unshare can give one.
host_b=()
unshare --uts true 2>/dev/null && host_b=(unshare --uts sh -c 'hostname machine-b && exec "$@"' sh)
# jbuild a|b LABEL CONTEXT ARGS...: a json build on machine a or b (each has a
# store of its own); keys in keys.LABEL, the image ID in id.LABEL
jbuild() {
  local m=$1 l=$2 c=$3 run=(); shift 3
  [ "$m" = b ] && run=("${host_b[@]}")
  MKIMAGE_ROOT=$W/store-$m "${run[@]}" "$MKIMAGE" build --progress json "$@" "$c" \
    >"log.$l" 2>"err.$l" || { tail -n 20 "err.$l"; fail "build $l failed"; }
  python3 - "log.$l" "keys.$l" "id.$l" <<'PY' || fail "build $l: no step keys"
import json, sys
keys, image = [], ""
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "started" and e.get("cache_key"):
        keys.append(f'{e["name"].splitlines()[0]}\t{e["cache_key"]}')
    elif e["event"] == "result":
        image = e["image_id"]
open(sys.argv[2], "w").write("\n".join(keys) + "\n")
open(sys.argv[3], "w").write(image + "\n")
sys.exit(0 if keys and image else 1)
PY
}
same_keys() { diff "keys.$1" "keys.$2" >"diff.$1-$2" || { cat "diff.$1-$2"; fail "step keys differ between $1 and $2"; }; }

jbuild a a "$W/a/src"
jbuild b b "$W/b/other/place/src"
same_keys a b
[ "$(wc -l <keys.a)" -ge 7 ] || fail "keys.a lists $(wc -l <keys.a) steps, want every step"

# Created times pinned: the whole image is the same.
sde=(--build-arg SOURCE_DATE_EPOCH=1600000000)
jbuild a a.sde "$W/a/src" "${sde[@]}"
jbuild b b.sde "$W/b/other/place/src" "${sde[@]}"
same_keys a.sde b.sde
cmp -s id.a.sde id.b.sde || fail "image IDs differ: $(cat id.a.sde) vs $(cat id.b.sde)"
! cmp -s keys.a keys.a.sde || fail "SOURCE_DATE_EPOCH is not part of the keys"

# Negative: other bytes in one file change that COPY's key (and only from there on).
printf 'echo edited\n' >"$W/b/other/place/src/app/main.sh"
jbuild b b.edit "$W/b/other/place/src" "${sde[@]}"
key() { awk -F'\t' -v n="$2" '$1 == n { print $2 }' "keys.$1"; }
copy='COPY --chmod=u=rwX,go=rX app/ ./'
[ -n "$(key a.sde "$copy")" ] || fail "no key for '$copy'"
[ "$(key a.sde "$copy")" != "$(key b.edit "$copy")" ] || fail "an edit of app/main.sh kept the COPY key"
[ "$(key a.sde 'WORKDIR /app')" = "$(key b.edit 'WORKDIR /app')" ] || fail "an edit of app/main.sh changed an earlier key"
pass
