# Helpers for registry end-to-end tests (sourced; not a test itself):
# throwaway docker-registry instances on 127.0.0.1 (auth none/htpasswd/token),
# a token server, a fault-injecting proxy, and images to push and pull.
# Env: MKIMAGE (binary; needed by mk_busybox_image), MKIMAGE_SOURCE_DIR (ctest
# sets them). Exit 77 = skipped. KEEP=1 keeps the scratch dir $W.
#
#   source "$(dirname "$0")/registry_lib.bash"
#   reg_start main htpasswd           # REG_ADDR=127.0.0.1:PORT, REG_USER, REG_PASSWORD
#   mk_busybox_image bb:1             # IMG_ID
#   "$MKIMAGE" push "$REG_ADDR/bb:1"
#   reg_stop main                     # (or leave it to the EXIT trap)
#
# Every process started here is stopped by the EXIT trap (reg_cleanup); a test
# that sets its own EXIT trap must call reg_cleanup from it. Each helper process
# also exits by itself after 30 min (--lifetime), so nothing outlives a killed test.
# shellcheck disable=SC2034  # REG_*, TOKEN_*, PROXY_*, IMG_ID, SEED_* are for the caller
set -u
SRC=${MKIMAGE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
REG_TOOLS=$SRC/tests/registry
TEST=$(basename "$0" .sh)

skip() { echo "$TEST: skipped: $*"; exit 77; }
fail() { echo "$TEST: FAIL: $*"; exit 1; }
pass() { echo "$TEST: ok"; exit 0; }

command -v python3 >/dev/null || skip "python3 is not installed"
command -v openssl >/dev/null || skip "openssl is not installed (scripts/deps.sh installs it)"
command -v curl >/dev/null || skip "curl is not installed (scripts/deps.sh installs it)"
[ -x /usr/bin/docker-registry ] || skip "docker-registry is not installed (scripts/deps.sh installs it)"

# Talk to 127.0.0.1 directly, whatever proxy the machine has.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY ftp_proxy FTP_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

W=$(mktemp -d "${TMPDIR:-/tmp}/mkimage-$TEST.XXXXXX")
export MKIMAGE_ROOT=$W/root
export DOCKER_CONFIG=$W/docker-config # `mkimage login` writes $DOCKER_CONFIG/config.json
mkdir -p "$W/pids" "$W/reg" "$DOCKER_CONFIG"
REG_AUTHFILE=$W/skopeo-auth.json # keeps skopeo away from the user's credentials
echo '{"auths":{}}' >"$REG_AUTHFILE"

# _stop_pidfile FILE: TERM the process in FILE (only if its command line names $W),
# wait up to 5 s, then KILL.
_stop_pidfile() {
  local f=$1 pid _
  pid=$(cat "$f" 2>/dev/null) || return 0
  rm -f "$f"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  grep -qF -- "$W" < <(tr '\0' ' ' <"/proc/$pid/cmdline") || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

reg_cleanup() {
  local d f
  for f in "$W"/pids/*.pid; do [ -e "$f" ] && _stop_pidfile "$f"; done
  for d in "$W"/reg/*/; do
    [ -e "$d/registry.pid" ] && python3 "$REG_TOOLS/registry.py" stop --dir "$d" >/dev/null 2>&1
  done
  if [ -n "${KEEP:-}" ]; then echo "$TEST: scratch dir $W"; else cd / && rm -rf "$W"; fi
}
trap reg_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$W" || fail "cd $W"

# _bg NAME LOG CMD...: runs CMD in the background, pid in $W/pids/NAME.pid
_bg() {
  local name=$1 log=$2; shift 2
  "$@" </dev/null >"$log" 2>&1 &
  echo $! >"$W/pids/$name.pid"
}

# _wait_file FILE NAME LOG: waits up to 10 s for FILE (a port file) to appear
_wait_file() {
  local _
  for _ in $(seq 100); do
    [ -s "$1" ] && return 0
    kill -0 "$(cat "$W/pids/$2.pid")" 2>/dev/null || break
    sleep 0.1
  done
  fail "$2 did not start: $(tail -n 20 "$3" 2>/dev/null)"
}

# reg_start NAME none|htpasswd|token [registry.py start options...]
#   Starts registry NAME (data in $W/reg/NAME). Sets REG_DIR, REG_PORT,
#   REG_ADDR=127.0.0.1:PORT, REG_LOG. htpasswd: user REG_USER / REG_PASSWORD
#   (defaults tester / s3cret-pw, set them before to change). token: call
#   tok_start first; uses TOKEN_REALM, TOKEN_SERVICE, TOKEN_ISSUER, TOKEN_CERT.
#   Extra options, e.g. --tls (then $REG_DIR/tls.crt is the CA).
REG_USER=${REG_USER:-tester}
REG_PASSWORD=${REG_PASSWORD:-s3cret-pw}
reg_start() {
  local name=$1 auth=$2 out; shift 2
  local args=(start --dir "$W/reg/$name" --auth "$auth")
  case $auth in
    none) ;;
    htpasswd)
      command -v htpasswd >/dev/null || skip "htpasswd is not installed (apache2-utils; scripts/deps.sh installs it)"
      args+=(--user "$REG_USER" --password "$REG_PASSWORD") ;;
    token)
      [ -n "${TOKEN_REALM:-}" ] || fail "reg_start $name token: call tok_start first"
      args+=(--token-realm "$TOKEN_REALM" --token-service "$TOKEN_SERVICE"
             --token-issuer "$TOKEN_ISSUER" --token-cert "$TOKEN_CERT") ;;
    *) fail "reg_start: unknown auth '$auth'" ;;
  esac
  out=$(python3 "$REG_TOOLS/registry.py" "${args[@]}" "$@" 2>&1) || fail "registry $name did not start: $out"
  REG_DIR=$W/reg/$name
  REG_PORT=$out
  REG_ADDR=127.0.0.1:$REG_PORT
  REG_LOG=$REG_DIR/registry.log
}
# reg_stop NAME
reg_stop() { python3 "$REG_TOOLS/registry.py" stop --dir "$W/reg/$1" || fail "registry $1 did not stop"; }
# reg_addr NAME: prints 127.0.0.1:PORT of registry NAME
reg_addr() { echo "127.0.0.1:$(cat "$W/reg/$1/port")"; }

# tok_start [token_server.py options...]
#   Makes an RSA key + self-signed cert ($W/token/key.pem, cert.pem) and starts the
#   token server. Sets TOKEN_PORT, TOKEN_REALM=http://127.0.0.1:PORT/token,
#   TOKEN_SERVICE, TOKEN_ISSUER, TOKEN_CERT, TOKEN_LOG (one line per token request).
#   Options, e.g.: --user "$REG_USER" --password "$REG_PASSWORD"
#   --allow-anonymous-pull --expires-in 60
TOKEN_SERVICE=mkimage-test-registry
TOKEN_ISSUER=mkimage-test-issuer
tok_start() {
  local d=$W/token
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mkimage-test-token-issuer \
    -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 || fail "openssl req failed"
  rm -f "$d/port"
  _bg token "$d/server.out" python3 "$REG_TOOLS/token_server.py" --key "$d/key.pem" --cert "$d/cert.pem" \
    --port-file "$d/port" --log "$d/requests.log" --service "$TOKEN_SERVICE" --issuer "$TOKEN_ISSUER" "$@"
  _wait_file "$d/port" token "$d/server.out"
  TOKEN_PORT=$(cat "$d/port")
  TOKEN_REALM=http://127.0.0.1:$TOKEN_PORT/token
  TOKEN_CERT=$d/cert.pem
  TOKEN_LOG=$d/requests.log
}
tok_stop() { _stop_pidfile "$W/pids/token.pid"; }

# proxy_start NAME UPSTREAM_ADDR [fault_proxy.py options: --mode M ... --match RE]
#   Sets PROXY_PORT, PROXY_ADDR=127.0.0.1:PORT, PROXY_LOG, and PROXY_REDIRECT_PORT
#   (redirect-blobs only). Modes: 500:N 429:N:SECS cut-blob[:N] corrupt-blob[:N]
#   stall[:N] redirect-blobs[:HOST] (see tests/registry/fault_proxy.py).
proxy_start() {
  local name=$1 up=$2 d=$W/proxy/$1; shift 2
  mkdir -p "$d"
  rm -f "$d/port" "$d/port.redirect"
  _bg "proxy-$name" "$d/proxy.out" python3 "$REG_TOOLS/fault_proxy.py" --upstream "$up" \
    --port-file "$d/port" --log "$d/requests.log" "$@"
  _wait_file "$d/port" "proxy-$name" "$d/proxy.out"
  PROXY_PORT=$(cat "$d/port")
  PROXY_ADDR=127.0.0.1:$PROXY_PORT
  PROXY_LOG=$d/requests.log
  PROXY_REDIRECT_PORT=$(cat "$d/port.redirect" 2>/dev/null || true)
}
proxy_stop() { _stop_pidfile "$W/pids/proxy-$1.pid"; }
proxy_addr() { echo "127.0.0.1:$(cat "$W/proxy/$1/port")"; }

# log_count FILE ERE: prints how many lines of FILE match ERE
log_count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
# no_auth_leak PROXY_NAME: fails if the proxy saw credentials on a redirect target
no_auth_leak() { ! grep -q '^AUTH-LEAK' "$W/proxy/$1/requests.log" || fail "credentials sent to the redirect target: $(grep '^AUTH-LEAK' "$W/proxy/$1/requests.log" | head -n 3)"; }

# registries_json JSON: writes $MKIMAGE_ROOT/registries.json
registries_json() { mkdir -p "$MKIMAGE_ROOT" && printf '%s\n' "$1" >"$MKIMAGE_ROOT/registries.json"; }

# mk_busybox_image NAME [MARKER [IMPORT-OPTIONS...]]: `mkimage import` of a static
#   busybox rootfs (bin/busybox, bin/sh, etc/passwd) as NAME, CMD ["/bin/sh"].
#   MARKER (if not empty) goes into /marker and makes the layer unique; without
#   it every such image has the same layer. Sets IMG_ID.
mk_busybox_image() {
  local name=$1 marker=${2:-} r=$W/bb-rootfs.$RANDOM
  shift; [ $# -gt 0 ] && shift
  : "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
  [ -x /bin/busybox ] || skip "/bin/busybox (busybox-static) is not installed"
  mkdir -p "$r/bin" "$r/etc"
  cp /bin/busybox "$r/bin/busybox"
  ln -s busybox "$r/bin/sh"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  [ -z "$marker" ] || printf '%s\n' "$marker" >"$r/marker"
  # fixed mtimes and owners: the same MARKER gives the same layer
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$r.tar" . ||
    fail "tar of the busybox rootfs failed"
  IMG_ID=$("$MKIMAGE" import "$r.tar" "$name" -c 'CMD ["/bin/sh"]' "$@" 2>"$r.err") ||
    fail "mkimage import $name failed: $(cat "$r.err")"
  rm -rf "$r" "$r.tar" "$r.err"
}

# reg_seed REF [--creds U:P] [--platforms linux/amd64,linux/arm64] [--pad-mib N] [--marker T]
#   Puts a busybox image into a registry without mkimage: registry.py mkoci + skopeo
#   copy --all. Several platforms make an OCI image index. Sets SEED_DIGEST (the
#   digest of the tagged manifest or index) and SEED_OCI (the OCI layout dir).
reg_seed() {
  local ref=$1 creds=() mk=() tag; shift
  command -v skopeo >/dev/null || skip "skopeo is not installed (scripts/deps.sh installs it)"
  [ -x /bin/busybox ] || skip "/bin/busybox (busybox-static) is not installed"
  while [ $# -gt 0 ]; do
    case $1 in
      --creds) creds=(--dest-creds "$2"); shift 2 ;;
      --platforms | --pad-mib | --marker) mk+=("$1" "$2"); shift 2 ;;
      *) fail "reg_seed: unknown option $1" ;;
    esac
  done
  tag=seed$RANDOM
  SEED_OCI=$W/seed-oci
  SEED_DIGEST=$(python3 "$REG_TOOLS/registry.py" mkoci --out "$SEED_OCI" --tag "$tag" "${mk[@]}") ||
    fail "registry.py mkoci failed"
  skopeo copy -q --all --authfile "$REG_AUTHFILE" --dest-tls-verify=false "${creds[@]}" \
    "oci:$SEED_OCI:$tag" "docker://$ref" >"$W/seed.err" 2>&1 || fail "skopeo copy to $ref failed: $(cat "$W/seed.err")"
}

# reg_manifest REF [--creds U:P]: prints the raw manifest (or index) REF has in the registry
reg_manifest() {
  local ref=$1; shift
  command -v skopeo >/dev/null || skip "skopeo is not installed (scripts/deps.sh installs it)"
  skopeo inspect --raw --authfile "$REG_AUTHFILE" --tls-verify=false "$@" "docker://$ref"
}
# reg_config REF [--creds U:P] [--override-arch A]: prints the image config JSON
reg_config() {
  local ref=$1; shift
  command -v skopeo >/dev/null || skip "skopeo is not installed (scripts/deps.sh installs it)"
  skopeo inspect --config --authfile "$REG_AUTHFILE" --tls-verify=false "$@" "docker://$ref"
}

# --- checks that do not stop a test: every failure is printed, and the test
# ends with `[ "$BAD" = 0 ] || fail ...` ---------------------------------------
BAD=0
bad() { echo "$TEST: FAIL: $*"; BAD=$((BAD + 1)); }
# m LABEL ARGS...: runs mkimage ARGS, stdout in $W/out.LABEL, stderr in $W/err.LABEL; returns its status
m() { local l=$1; shift; "$MKIMAGE" "$@" >"$W/out.$l" 2>"$W/err.$l"; }
# m_ok LABEL ARGS...: must succeed
m_ok() { m "$@" || fail "mkimage ${*:2} failed: $(tail -n 5 "$W/err.$1")"; }
# m_in LABEL STDIN ARGS...: as m, with STDIN (and a newline) on standard input
m_in() { local l=$1 in=$2; shift 2; printf '%s\n' "$in" | "$MKIMAGE" "$@" >"$W/out.$l" 2>"$W/err.$l"; }
# has LABEL TEXT / has_re LABEL ERE / lacks LABEL TEXT: stdout+stderr of run LABEL
# (grep reads the files itself: `cat … | grep -q` under pipefail fails when grep
# exits at its first match before cat has written everything — SIGPIPE)
has() { grep -qF -- "$2" "$W/out.$1" "$W/err.$1" || bad "'$1' output lacks '$2': $(cat "$W/out.$1" "$W/err.$1" | tail -n 8)"; }
has_re() { grep -qiE -- "$2" "$W/out.$1" "$W/err.$1" || bad "'$1' output does not match /$2/: $(cat "$W/out.$1" "$W/err.$1" | tail -n 8)"; }
lacks() { ! grep -qF -- "$2" "$W/out.$1" "$W/err.$1" || bad "'$1' output has '$2': $(grep -F -- "$2" "$W/out.$1" "$W/err.$1" | head -n 3)"; }
# image_id ROOT REF: the image ID of REF in the store at ROOT
image_id() { MKIMAGE_ROOT=$1 "$MKIMAGE" image inspect -f '{{.Id}}' "$2" 2>&1; }
