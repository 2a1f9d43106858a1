# Ported from testSSHFileDescriptorsClosed in moby/buildkit frontend/dockerfile/dockerfile_ssh_test.go
. "$BK_LIB"
# The Go test installs openssh in alpine and runs `ssh -T git@github.com` three
# times; without network or a registry here, the agent's client is the host's
# ssh-add (with its shared libraries) copied into the image, run three times.
command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null || skip "ssh-agent and ssh-add (openssh-client) are needed"
c=$CTX/sshclient
mkdir -p $c/usr/bin && cp "$(command -v ssh-add)" $c/usr/bin/ssh-add || fail "harness: cannot copy ssh-add"
for lib in $(ldd "$(command -v ssh-add)" | grep -o '/[^ ]*'); do
  mkdir -p "$c$(dirname "$lib")" && cp -L "$lib" "$c$lib" || fail "harness: cannot copy $lib"
done
# not t.TempDir(): socket paths are limited in length
sockdir=$(mktemp -d /tmp/bk-ssh.XXXXXX); sock=$sockdir/ssh-agent.sock
trap '_bk_cleanup; rm -rf "$sockdir"' EXIT
ssh-agent -s -d -a "$sock" > /dev/null 2> $OUT/agent.log &
_BK_PIDS+=($!)
for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "ssh-agent failed to start: $(cat $OUT/agent.log)"
build_ok "three agent connections in one RUN" --ssh default=$sock "$CTX"
kill "${_BK_PIDS[-1]}" 2>/dev/null; sleep 0.2
fhas $OUT/agent.log "process_message: socket 1"
flacks $OUT/agent.log "process_message: socket 2"
flacks $OUT/agent.log "process_message: socket 3"
