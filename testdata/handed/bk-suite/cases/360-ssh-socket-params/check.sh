# Ported from testSSHSocketParams in moby/buildkit frontend/dockerfile/dockerfile_ssh_test.go
. "$BK_LIB"
command -v ssh-keygen >/dev/null && command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null \
  || skip "ssh-keygen, ssh-agent and ssh-add (openssh-client) are needed"
# an RSA key in PKCS#1 PEM, as the Go test writes it
ssh-keygen -q -t rsa -b 2048 -m PEM -N "" -f $OUT/key >/dev/null || fail "harness: ssh-keygen failed"
build_ok "ssh socket mode/uid/gid" --ssh default=$OUT/key "$CTX"
