#!/usr/bin/env bash
# Registry authentication end to end: an htpasswd registry refuses an anonymous
# push; `mkimage login` refuses a wrong password without touching config.json,
# saves the right one (mode 0600, base64 user:password, other keys kept), push
# and pull then work, `logout` removes it. A token-auth registry (docker's token
# spec): login, push (token asked for pull,push), pull. A credential helper
# (credsStore) supplies the credentials for a pull.
# Env: MKIMAGE (binary). Exit 77 = skipped.
: "${MKIMAGE:?MKIMAGE must name the mkimage binary}"
source "$(dirname "$0")/registry_lib.bash"
command -v skopeo >/dev/null || skip "skopeo is not installed (scripts/deps.sh installs it)"
set -o pipefail

# skopeo_digest REF U:P: the manifest digest as the registry serves it
skopeo_digest() {
  skopeo inspect --authfile "$REG_AUTHFILE" --tls-verify=false --creds "$2" "docker://$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])'
}
CFG=$DOCKER_CONFIG/config.json

mk_busybox_image bb:1
ORIG_ID=$IMG_ID

# === htpasswd =================================================================
reg_start basic htpasswd
R=$REG_ADDR
m_ok tag tag bb:1 "$R/bb:1"
if m anon push "$R/bb:1"; then bad "push without login succeeded"; else has_re anon 'no basic auth credentials'; fi
[ -e "$CFG" ] && bad "an anonymous push created $CFG"

# wrong password: no file appears; with a file, its bytes stay
if m_in wrong1 "not-$REG_PASSWORD" login -u "$REG_USER" --password-stdin "$R"; then
  bad "login with a wrong password succeeded"
else
  has_re wrong1 'unauthorized|401|incorrect'
fi
[ -e "$CFG" ] && bad "a failed login wrote $CFG: $(cat "$CFG")"
printf '%s\n' '{"auths":{"other.example:5000":{"auth":"b3RoZXI6c2VjcmV0"}},"psFormat":"table {{.ID}}"}' >"$CFG"
chmod 0644 "$CFG"
cp "$CFG" "$W/config.before"
m_in wrong2 "not-$REG_PASSWORD" login -u "$REG_USER" --password-stdin "$R" && bad "login with a wrong password succeeded"
cmp -s "$CFG" "$W/config.before" || bad "a failed login changed $CFG: $(cat "$CFG")"

# right password
m_in login "$REG_PASSWORD" login -u "$REG_USER" --password-stdin "$R" ||
  fail "login with the right password failed: $(cat "$W/err.login")"
has login "Login Succeeded"
[ "$(stat -c %a "$CFG")" = 644 ] || bad "$CFG has mode $(stat -c %a "$CFG"), want its earlier 644 kept (docker keeps it; a new file is 0600)"
python3 - "$CFG" "$R" "$REG_USER:$REG_PASSWORD" <<'PY' || bad "config.json after login is wrong: $(cat "$CFG")"
import base64, json, sys
c = json.load(open(sys.argv[1]))
got = base64.b64decode(c["auths"][sys.argv[2]]["auth"]).decode()
assert got == sys.argv[3], f"auth decodes to {got!r}"
assert c["auths"]["other.example:5000"]["auth"] == "b3RoZXI6c2VjcmV0", "other auths entry lost"
assert c.get("psFormat") == "table {{.ID}}", "psFormat lost"
PY
grep -qF "$REG_PASSWORD" "$W/out.login" "$W/err.login" && bad "login printed the password"
grep -q "stored unencrypted in $CFG" "$W/err.login" || bad "login did not warn that the password is stored unencrypted"
# no flags, no terminal: the stored credentials are checked again (docker's behaviour)
m_in again "" login "$R" || bad "login with stored credentials failed: $(cat "$W/err.again")"
has again "Authenticating with existing credentials..."
has again "Login Succeeded"

m_ok push push "$R/bb:1"
d=$(grep -oE '^1: digest: sha256:[0-9a-f]{64}' "$W/out.push" | awk '{print $3}')
[ -n "$d" ] || bad "push printed no digest line: $(cat "$W/out.push")"
[ "$(skopeo_digest "$R/bb:1" "$REG_USER:$REG_PASSWORD")" = "$d" ] || bad "registry digest differs from the pushed $d"
MKIMAGE_ROOT=$W/root-basic m_ok pull pull "$R/bb:1"
has pull "Status: Downloaded newer image for $R/bb:1"
[ "$(image_id "$W/root-basic" "$R/bb:1")" = "$ORIG_ID" ] || bad "pulled image ID is not $ORIG_ID"

m_ok logout logout "$R"
has logout "Removing login credentials for $R"
python3 - "$CFG" "$R" <<'PY' || bad "config.json after logout is wrong: $(cat "$CFG")"
import json, sys
c = json.load(open(sys.argv[1]))
assert sys.argv[2] not in c.get("auths", {}), "the entry is still there"
assert "other.example:5000" in c["auths"], "other auths entry lost"
PY
if MKIMAGE_ROOT=$W/root-basic2 m pull2 pull "$R/bb:1"; then bad "pull after logout succeeded"; else has_re pull2 'no basic auth credentials'; fi
m_ok logout2 logout "$R"
has logout2 "Removing login credentials for $R"  # docker's words, logged in or not

# === token auth ===============================================================
tok_start --user "$REG_USER" --password "$REG_PASSWORD"
reg_start tok token
T=$REG_ADDR
m_ok tagt tag bb:1 "$T/tok:1"
if m tanon push "$T/tok:1"; then bad "token registry: push without login succeeded"; fi
m_in tlogin "$REG_PASSWORD" login -u "$REG_USER" --password-stdin "$T" ||
  fail "token registry: login failed: $(cat "$W/err.tlogin")"
has tlogin "Login Succeeded"
: >"$TOKEN_LOG"
m_ok tpush push "$T/tok:1"
has tpush "Pushed"
n=$(log_count "$TOKEN_LOG" "^GET status=200 creds=basic user=$REG_USER .*granted=repository:tok:pull,push( |$)")
[ "$n" -ge 1 ] || bad "token log shows no pull,push token for the push: $(cat "$TOKEN_LOG")"
n=$(log_count "$TOKEN_LOG" "scopes=.*repository:tok:(push,pull|pull,push)")
[ "$n" -ge 1 ] || bad "the push asked for no pull,push scope: $(cat "$TOKEN_LOG")"
td=$(grep -oE '^1: digest: sha256:[0-9a-f]{64}' "$W/out.tpush" | awk '{print $3}')
[ "$(skopeo_digest "$T/tok:1" "$REG_USER:$REG_PASSWORD")" = "$td" ] || bad "token registry digest differs from the pushed $td"
: >"$TOKEN_LOG"
MKIMAGE_ROOT=$W/root-tok m_ok tpull pull "$T/tok:1"
has tpull "Status: Downloaded newer image for $T/tok:1"
[ "$(image_id "$W/root-tok" "$T/tok:1")" = "$ORIG_ID" ] || bad "token registry: pulled image ID is not $ORIG_ID"
n=$(log_count "$TOKEN_LOG" "^GET status=200 creds=basic user=$REG_USER .*granted=repository:tok:pull( |$)")
[ "$n" -ge 1 ] || bad "token log shows no pull token for the pull: $(cat "$TOKEN_LOG")"
[ "$(log_count "$TOKEN_LOG" 'scopes=.*repository:tok:[a-z,]*push')" = 0 ] || bad "the pull asked for push access: $(cat "$TOKEN_LOG")"

# === credential helper (credsStore) ===========================================
mkdir -p "$W/bin"
cat >"$W/bin/docker-credential-fake" <<EOF
#!/bin/sh
read -r server
echo "\$1 \$server" >>"$W/helper.log"
if [ "\$1" = get ] && [ "\$server" = "$T" ]; then
  printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "$T" "$REG_USER" "$REG_PASSWORD"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
EOF
chmod 0755 "$W/bin/docker-credential-fake"
echo '{"credsStore":"fake"}' >"$CFG"
: >"$TOKEN_LOG"
PATH=$W/bin:$PATH MKIMAGE_ROOT=$W/root-helper m hpull pull "$T/tok:1" ||
  fail "pull with credsStore helper failed: $(cat "$W/err.hpull") (helper calls: $(cat "$W/helper.log" 2>/dev/null))"
has hpull "Status: Downloaded newer image for $T/tok:1"
[ "$(image_id "$W/root-helper" "$T/tok:1")" = "$ORIG_ID" ] || bad "helper pull: image ID is not $ORIG_ID"
grep -qxF "get $T" "$W/helper.log" || bad "the helper was not asked 'get $T': $(cat "$W/helper.log")"
[ "$(log_count "$TOKEN_LOG" "creds=basic user=$REG_USER ")" -ge 1 ] || bad "the helper's credentials did not reach the token server: $(cat "$TOKEN_LOG")"

[ "$BAD" = 0 ] || fail "$BAD check(s) failed"
pass
