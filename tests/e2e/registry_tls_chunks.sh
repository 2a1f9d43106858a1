#!/usr/bin/env bash
# TLS and upload forms: a registry on 127.0.0.1 serving HTTPS with a self-signed
# certificate is refused (verification is never switched off) until its CA is in
# certs-dir/HOST:PORT/ca.crt (docker's /etc/docker/certs.d layout), then push and
# pull work over HTTPS. Blobs larger than upload-chunk-size go up as PATCH chunks
# (the registry log shows several PATCHes for one upload) and the pushed image
# pulls back with the same image ID.
# Env: MKIMAGE (binary). Exit 77 = skipped.
set -u
source "$(dirname "$0")/registry_lib.bash"
cd "$W"
mk() { "$MKIMAGE" "$@"; }

reg_start tls none --tls
R=$REG_ADDR
mk_busybox_image bb:1 tls-marker
mk tag bb:1 "$R/bb:1" || fail "tag"
if mk push "$R/bb:1" >push.untrusted 2>&1; then fail "push over HTTPS to an unknown CA succeeded"; fi
grep -qiE "certificate|SSL" push.untrusted || fail "the refused push does not name the certificate: $(tail -n 1 push.untrusted)"

# The CA in certs-dir, chunks of 64 KiB (busybox's layer is ~1 MB compressed).
mkdir -p "certs.d/$R"
cp "$REG_DIR/tls.crt" "certs.d/$R/ca.crt"
registries_json "{\"certs-dir\": \"$W/certs.d\", \"upload-chunk-size\": 65536}"
mk push "$R/bb:1" >push.tls 2>&1 || { cat push.tls; fail "push over HTTPS with the CA in certs-dir"; }
grep -q "Pushed" push.tls || fail "push over HTTPS: nothing pushed"
patches=$(grep -cE '"PATCH /v2/bb/blobs/uploads/' "$REG_LOG" || true)
[ "${patches:-0}" -ge 5 ] || fail "expected several PATCH chunks for the layer upload, the registry saw ${patches:-0}"

export MKIMAGE_ROOT=$W/root2
registries_json "{\"certs-dir\": \"$W/certs.d\"}"
mk pull -q "$R/bb:1" >/dev/null || fail "pull over HTTPS"
[ "$(mk image inspect -f '{{.Id}}' "$R/bb:1")" = "$IMG_ID" ] || fail "pulled image ID differs from the pushed one"
pass
