#!/usr/bin/env bash
# Bytes that are not UTF-8 never crash a build: in a RUN command (exec and shell
# form), a shell-form CMD, a LABEL, a --label, a --build-arg used in LABEL and a
# context file name. The rule (util/json_text.hpp): in JSON mkimage writes (image
# config, OCI runtime config, index rows, CLI output) each invalid sequence becomes
# U+FFFD, as docker's Go encoding/json writes it; file names and layer contents
# keep their bytes.
source "$(dirname "$0")/../e2e/build_helpers.inc"

ctx c
touch "c/name-$(printf '\xff')"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY busybox /bin/sh\nCOPY . /ctx/\nARG A\nRUN ["/bin/busybox", "sh", "-c", "echo \xff\xfe > /exec-form"]\nRUN /bin/busybox echo \xfe > /shell-form\nLABEL x=\xff y=$A\nCMD echo \xfe\n' >c/Dockerfile
b 1 -t u8:1 --label "k=$(printf '\xfe')" --build-arg "A=$(printf 'a\xffb')" --output type=local,dest=out c
grep -qi "internal error\|json.exception\|terminate" log.1 && fail "build 1: $(grep -i 'internal error\|exception' log.1 | head -n 2)"
[ -e "out/ctx/name-$(printf '\xff')" ] || fail "the context file with a non-UTF-8 name is not in the image"
[ -s out/exec-form ] && [ -s out/shell-form ] || fail "the RUN steps wrote nothing"
labels=$("$MKIMAGE" image inspect -f '{{json .Config.Labels}}' u8:1) || fail "inspect failed"
want='{"k":"\ufffd","x":"\ufffd","y":"a\ufffdb"}'
python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); sys.exit(a!=b)' "$labels" "$want" ||
  fail "labels are $labels, want $want"
"$MKIMAGE" images --format json >/dev/null || fail "images --format json fails on the image"
"$MKIMAGE" history u8:1 >/dev/null || fail "history fails on the image"
# a rebuild is fully cached (the index rows hold the replaced text consistently)
b 2 -t u8:1 --label "k=$(printf '\xfe')" --build-arg "A=$(printf 'a\xffb')" c
grep -cE '^#[0-9]+ CACHED' log.2 | grep -qx 5 || fail "rebuild: want 5 cached steps, got $(grep -cE '^#[0-9]+ CACHED' log.2)"
pass
