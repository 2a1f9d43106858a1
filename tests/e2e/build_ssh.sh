#!/usr/bin/env bash
# --ssh and RUN --mount=type=ssh end to end: a key file's agent (started by
# mkimage, stopped at the build's end), the socket at BuildKit's default target
# with SSH_AUTH_SOCK, never in a layer, never in a key (another key: still
# cached); a missing --ssh: optional mounts are left out, required ones fail
# with BuildKit's error; `default` without SSH_AUTH_SOCK. (BuildKit's own test
# is bk-suite case 360.)
. "$(dirname "$0")/build_helpers.inc"
for t in ssh-keygen ssh-agent ssh-add; do command -v $t >/dev/null || skip "$t (openssh-client) is not installed"; done
ctx c
cat >c/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN --mount=type=ssh mkdir -p /out && echo "$SSH_AUTH_SOCK" >/out/env && \
    if [ -S /run/buildkit/ssh_agent.0 ]; then stat -c '%u %g %a' /run/buildkit/ssh_agent.0 >/out/sock; else echo none >/out/sock; fi
DF
ssh-keygen -q -t ed25519 -N '' -f key1 && ssh-keygen -q -t ed25519 -N '' -f key2 || fail "ssh-keygen failed"
b 1 --ssh default=$W/key1 -o type=local,dest=out1 c
is out1/out/env $'/run/buildkit/ssh_agent.0\n'
is out1/out/sock $'0 0 600\n'
[ ! -e out1/run ] || fail "the ssh socket (or its mount point /run/buildkit) reached the image"
pgrep -f "ssh-agent -D -a /tmp/mkimage-ssh-" >/dev/null && fail "the build's ssh-agent still runs"
ls -d /tmp/mkimage-ssh-* 2>/dev/null | grep -q . && fail "the build's ssh-agent directory is left"
# Another key (another agent): the step is cached; no --ssh at all: the
# optional mount is left out, the key is still the same.
b 2 --ssh default=$W/key2 -o type=local,dest=out2 c
cache 2 'RUN --mount=type=ssh' HIT
b 3 --no-cache -o type=local,dest=out3 c
is out3/out/sock $'none\n'
is out3/out/env $'/run/buildkit/ssh_agent.0\n'

# required: BuildKit's error without --ssh; a named id and target.
cat >c/Dockerfile <<'DF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN --mount=type=ssh,id=gh,target=/agent,required,mode=0444,uid=5 stat -c '%u %a' /agent >/sock && echo "$SSH_AUTH_SOCK" >/env
DF
b_fails 4 c
log_has 4 'no SSH key "gh" forwarded from the client'
b 5 --ssh gh=$W/key1 -o type=local,dest=out5 c
is out5/sock $'5 444\n'
is out5/env $'/agent\n'
# `default` needs SSH_AUTH_SOCK; an agent socket is used as it is.
if env -u SSH_AUTH_SOCK "$MKIMAGE" build --ssh default c >log.6 2>&1; then fail "--ssh default without SSH_AUTH_SOCK succeeded"; fi
log_has 6 'invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set'
eval "$(ssh-agent -s -a "$W/agent.sock")" >/dev/null || fail "ssh-agent failed"
trap 'kill $SSH_AGENT_PID 2>/dev/null; cd /; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
b 7 --ssh gh --no-cache -o type=local,dest=out7 c
is out7/sock $'5 444\n'
[ -S "$W/agent.sock" ] || fail "the user's agent socket was removed"
pass
