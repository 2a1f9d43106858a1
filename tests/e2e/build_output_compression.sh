#!/usr/bin/env bash
# `--output type=oci,...,compression=zstd` writes zstd layers (it was ignored:
# gzip came out); every blob of the layout is named by the sha256 of its bytes.
. "$(dirname "$0")/build_helpers.inc"
ctx c
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nRUN echo hi >/hi\n' >c/Dockerfile
check_layout() {  # TAR WANT_MEDIA_TYPE_SUFFIX
  rm -rf x && mkdir x && tar -C x -xf "$1" || fail "$1 is not a tar"
  for f in x/blobs/sha256/*; do
    [ "$(sha256sum "$f" | cut -c1-64)" = "$(basename "$f")" ] || fail "$1: blob $(basename "$f") has another sha256"
  done
  python3 - "$2" <<'PY' || fail "$1: layers are not $2"
import json, sys
idx = json.load(open("x/index.json"))
man = json.load(open("x/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
types = {l["mediaType"] for l in man["layers"]}
sys.exit(0 if types == {"application/vnd.oci.image.layer.v1." + sys.argv[1]} else print(types) or 1)
PY
}
b 1 --output type=oci,dest=zstd.tar,compression=zstd c
check_layout zstd.tar tar+zstd
b 2 --compression zstd --output type=oci,dest=gzip.tar,compression=gzip c
check_layout gzip.tar tar+gzip
b 3 --compression zstd --output type=oci,dest=flag.tar c
check_layout flag.tar tar+zstd
b_fails 4 --output type=oci,dest=e.tar,compression=estargz c
log_has 4 'compression must be gzip or zstd'
pass
