#!/usr/bin/env bash
# Pull and push errors: each fails (exit != 0) with one error line on stderr
# naming the reference, and leaves the store's image list and blobs as they were:
# refused connection, unknown host, missing tag, missing repository, invalid
# references, a manifest over 4 MiB (with and without Content-Length), malformed
# manifest JSON, an unsupported manifest media type (the last three served by a
# small fake registry started here), and a push of an image the store lacks.
# Env: MKIMAGE (binary). Exit 77 = skipped.
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
source "$(dirname "$0")/registry_lib.bash"
set -o pipefail

snapshot() {
  "$MKIMAGE" images -a --no-trunc --format '{{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}}' >"$W/$1.images" 2>&1 || fail "images failed: $(cat "$W/$1.images")"
  (cd "$MKIMAGE_ROOT/blobs/sha256" && ls -A) >"$W/$1.blobs" 2>/dev/null || : >"$W/$1.blobs"
}
# fails LABEL NAME ERE ARGS...: mkimage ARGS must exit != 0 within 60 s, with
# exactly one line on stderr that names NAME and matches ERE (case-insensitive);
# the store must not change.
fails() {
  local l=$1 name=$2 re=$3 rc n
  shift 3
  snapshot "before.$l"
  timeout -k 3 60 "$MKIMAGE" "$@" >"$W/out.$l" 2>"$W/err.$l"
  rc=$?
  if [ "$rc" = 0 ]; then
    bad "$l: mkimage $* succeeded"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    bad "$l: mkimage $* did not end within 60 s"
  else
    n=$(wc -l <"$W/err.$l")
    [ "$n" = 1 ] || bad "$l: stderr has $n lines, want 1: $(cat "$W/err.$l")"
    grep -qF -- "$name" "$W/err.$l" || bad "$l: the error does not name '$name': $(cat "$W/err.$l")"
    grep -qiE -- "$re" "$W/err.$l" || bad "$l: the error does not match /$re/: $(cat "$W/err.$l")"
  fi
  snapshot "after.$l"
  cmp -s "$W/before.$l.images" "$W/after.$l.images" || bad "$l: the image list changed: $(diff "$W/before.$l.images" "$W/after.$l.images")"
  cmp -s "$W/before.$l.blobs" "$W/after.$l.blobs" || bad "$l: blobs were added: $(diff "$W/before.$l.blobs" "$W/after.$l.blobs" | grep '^>')"
}

reg_start main none
R=$REG_ADDR
mk_busybox_image bb:1
m_ok tag tag bb:1 "$R/bb:1"
m_ok push push "$R/bb:1"

# --- the network and the registry -------------------------------------------
registries_json '{"max-attempts": 2, "connect-timeout-seconds": 5}'
fails refused 127.0.0.1:1/x:1 'refused|connect' pull 127.0.0.1:1/x:1
fails unknownhost nosuchhost.invalid/x:1 'resolve|unknown host|no such host|not known' pull nosuchhost.invalid/x:1
fails notag "$R/bb:nope" 'manifest unknown' pull "$R/bb:nope"
fails norepo "$R/nope:1" 'manifest unknown|name unknown|not found' pull "$R/nope:1"

# --- invalid references --------------------------------------------------------
# ('UPPER/x' is valid: an upper-case first component is a registry host, as in
# docker's reference grammar; repository path components must be lower case.)
fails upper1 'library/UPPER' 'invalid reference format' pull library/UPPER
fails upper2 'UPPER' 'invalid reference format' pull UPPER
fails emptytag 'bb:' 'invalid reference format' pull 'bb:'
fails shortdigest 'bb@sha256:abc' 'invalid reference format' pull 'bb@sha256:abc'
fails pushinvalid 'Bb' 'invalid reference format' push "$R/Bb:1"
fails upperhost 'UPPER/x' 'resolve|unknown host|no such host|not known' pull UPPER/x

# --- push of an image the store does not have ---------------------------------
fails nolocal "$R/missing" 'An image does not exist locally with the tag' push "$R/missing:1"  # docker names the repository
m_ok tag2 tag bb:1 127.0.0.1:1/bb:1
fails pushrefused 127.0.0.1:1/bb:1 'refused|connect' push 127.0.0.1:1/bb:1

# --- a fake registry serving bad manifests ------------------------------------
cat >"$W/fake_registry.py" <<'PY'
# GET /v2/ → 200; GET /v2/NAME/manifests/REF → a bad manifest chosen by NAME; else 404.
import json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
OCI = "application/vnd.oci.image.manifest.v1+json"
big = json.dumps({"schemaVersion": 2, "mediaType": OCI,
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
                  "layers": [], "annotations": {"pad": "x" * (4 << 20)}}).encode()
BODIES = {
    "huge": (OCI, big),
    "hugechunked": (OCI, big),
    "malformed": (OCI, b'{"schemaVersion": 2, "mediaType": "' + OCI.encode() + b'", "config": {"digest": '),
    "oddtype": ("application/vnd.example.thing.v1+json", b'{"schemaVersion": 2, "mediaType": "application/vnd.example.thing.v1+json"}'),
}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, fmt, *args):
        with open(sys.argv[2], "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
    def answer(self, code, ctype, body, chunked=False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not chunked:
            self.wfile.write(body)
            return
        try:
            for i in range(0, len(body), 65536):
                c = body[i:i + 65536]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client stopped reading (over its limit)
    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/v2/", "/v2"):
            return self.answer(200, "application/json", b"{}")
        if path.startswith("/v2/") and "/manifests/" in path:
            name = path[4:path.index("/manifests/")]
            if name in BODIES:
                ctype, body = BODIES[name]
                return self.answer(200, ctype, body, chunked=name.endswith("chunked"))
        self.answer(404, "application/json", b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}')
    do_HEAD = do_GET
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Timer(float(sys.argv[3]), lambda: os._exit(0)).start()  # never outlive the test
srv.serve_forever()
PY
mkdir -p "$W/fake"
_bg fake "$W/fake/out" python3 "$W/fake_registry.py" "$W/fake/port" "$W/fake/requests.log" 600
_wait_file "$W/fake/port" fake "$W/fake/out"
F=127.0.0.1:$(cat "$W/fake/port")
fails huge "$F/huge:1" '4 MiB|too large|exceeds' pull "$F/huge:1"
fails hugechunked "$F/hugechunked:1" '4 MiB|too large|exceeds' pull "$F/hugechunked:1"
fails malformed "$F/malformed:1" 'malformed|invalid|JSON|parse' pull "$F/malformed:1"
fails oddtype "$F/oddtype:1" 'unsupported.*media type|media type.*unsupported' pull "$F/oddtype:1"
grep -qF "$(printf '%s' application/vnd.example.thing.v1+json)" "$W/err.oddtype" || bad "oddtype: the error does not name the media type: $(cat "$W/err.oddtype")"
for n in huge hugechunked malformed oddtype; do
  grep -q "^GET /v2/$n/manifests/1$" "$W/fake/requests.log" || bad "the fake registry saw no manifest GET for $n: $(cat "$W/fake/requests.log")"
done
_stop_pidfile "$W/pids/fake.pid"

[ "$BAD" = 0 ] || fail "$BAD check(s) failed"
pass
