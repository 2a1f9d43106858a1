#!/usr/bin/env bash
# Hostile paths in Dockerfiles and images, with busybox-based images:
#   - a NUL byte in a path (COPY ["secret.txt\u0000","/s"], or through an ARG
#     in WORKDIR) is a Dockerfile error at its position: cut at the NUL it
#     would name a file .dockerignore leaves out; nothing is built or exported;
#   - a directory made where a lower layer had a symlink (`ln -s /x-target /x`,
#     then `rm /x && mkdir /x`) exports with -o type=local and type=tar, and a
#     failed export leaves no partial directory;
#   - COPY, ADD, WORKDIR, --chown (an /etc/passwd that is a symlink) and
#     RUN --mount=type=bind,source= through absolute and climbing symlinks of
#     the image resolve inside the image, as docker does; a link to a path
#     that exists on the host only is "not found", naming no host path.
# Env: MKIMAGE (binary). Exit 77 = skipped.
source "$(dirname "$0")/../e2e/build_helpers.inc"

# --- NUL in paths --------------------------------------------------------------
ctx nul
echo secret >nul/secret.txt
echo secret.txt >nul/.dockerignore
printf 'FROM scratch\nCOPY ["secret.txt\\u0000","/s"]\n' >nul/Dockerfile
b_fails nul -o "type=local,dest=$W/out.nul" nul
log_has nul 'Dockerfile:2:8: COPY source "secret.txt\x00" is not a valid path: it contains a NUL byte'
[ -e out.nul ] && fail "a refused Dockerfile exported $(ls out.nul)"
printf 'FROM scratch\nARG D=a\001b\nWORKDIR /$D\n' | sed 's/\x01/\x00/' >nul/Dockerfile.arg
b_fails nul-arg -f nul/Dockerfile.arg nul
log_has nul-arg 'Dockerfile.arg:3:9: WORKDIR "/a\x00b" is not a valid path: it contains a NUL byte'

# --- a directory replacing a symlink of a lower layer ----------------------------
ctx swap
cat >swap/Dockerfile <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","ln","-s","/x-target","/x"]
RUN ["/bin/busybox","sh","-c","/bin/busybox rm /x && /bin/busybox mkdir /x && echo l > /x/b"]
EOF
b swap-local -o "type=local,dest=$W/out.swap" swap
[ -d out.swap/x ] && [ ! -L out.swap/x ] || fail "out.swap/x is not a directory"
is out.swap/x/b $'l\n'
ls -a out.swap | grep -q '^\.mkimage-export' && fail "export left its staging directory"
b swap-tar -o "type=tar,dest=$W/swap.tar" swap
mkdir swap.x && tar -C swap.x -xf swap.tar || fail "swap.tar does not unpack"
is swap.x/x/b $'l\n'

# --- absolute symlinks inside the image ------------------------------------------
ctx links
echo hi >links/f.txt
mkdir links/arch && echo in >links/arch/inner && tar -C links/arch -cf links/a.tar inner
cat >links/Dockerfile <<'EOF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox","sh","-c","set -e; bb=/bin/busybox; $bb mkdir -p /somewhere/etc /etc; $bb ln -s /somewhere /canary; $bb ln -s ../../../../somewhere /up; echo 'app:x:1234:4321::/:/bin/sh' > /somewhere/etc/passwd; echo 'app:x:4321:' > /somewhere/etc/group; $bb ln -s /somewhere/etc/passwd /etc/passwd; $bb ln -s /somewhere/etc/group /etc/group; $bb ln -s /proc/self/hostonly /hostonly"]
FROM base
COPY f.txt /canary/copied.txt
COPY f.txt /up/sub/
ADD a.tar /canary/arch/
COPY --chown=app:app f.txt /canary/owned.txt
WORKDIR /canary/wd
COPY --chown=app f.txt rel.txt
RUN ["/bin/busybox","sh","-c","/bin/busybox pwd > /somewhere/pwd.txt"]
RUN --mount=type=bind,from=base,source=/canary/etc,target=/m ["/bin/busybox","sh","-c","/bin/busybox cat /m/group > /somewhere/mounted.txt"]
RUN --mount=type=bind,from=base,source=/up,target=/m ["/bin/busybox","sh","-c","/bin/busybox ls /m > /somewhere/up.txt"]
EOF
b links -o "type=local,dest=$W/out.links" links
[ -L out.links/canary ] || fail "/canary is no longer a symlink"
is out.links/somewhere/copied.txt $'hi\n'
is out.links/somewhere/sub/f.txt $'hi\n'
is out.links/somewhere/arch/inner $'in\n'
meta out.links/somewhere/owned.txt '1234:4321 644'
meta out.links/somewhere/wd/rel.txt '1234:4321 644'
is out.links/somewhere/pwd.txt $'/somewhere/wd\n'  # getcwd: the directory the link leads to
is out.links/somewhere/mounted.txt $'app:x:4321:\n'
grep -qx etc out.links/somewhere/up.txt || fail "the bind mount of /up is not /somewhere: $(cat out.links/somewhere/up.txt)"
[ -e out.links/proc ] && fail "a link into the host was followed on the host"
# A link to a path that exists on the host only is not found in the image.
cat >links/Dockerfile.host <<'EOF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox","ln","-s","/proc/self","/hostonly"]
FROM base
RUN --mount=type=bind,from=base,source=/hostonly,target=/m ["/bin/busybox","true"]
EOF
b_fails host -f links/Dockerfile.host links
log_has host '"hostonly" not found'
grep -qF -- "$W" log.host && fail "the error names a host path: $(grep -F -- "$W" log.host | head -n 3)"
# A FIFO named .dockerignore is refused at once (opening it used to wait forever
# for a writer).
mkdir -p fifo && mkfifo fifo/.dockerignore && printf 'FROM scratch\nLABEL a=b\n' >fifo/Dockerfile
timeout 20 "$MKIMAGE" build --progress plain fifo >log.fifo 2>&1
rc=$?
[ $rc = 124 ] && fail "a FIFO .dockerignore hangs the build"
[ $rc != 0 ] || fail "a FIFO .dockerignore was accepted"
log_has fifo "failed to read .dockerignore"
pass
