#!/usr/bin/env bash
# Independent work runs at once (builder/scheduler.hpp): three stages that each
# `sleep 1` overlap; a step before a `COPY --from` runs while that stage is still
# building; builder.max-parallelism bounds the RUN steps at once; the first
# failure is the build's error. Each RUN writes its start and end time
# (/proc/uptime, the same clock for every container) into its layer: the test
# checks overlap of those intervals, not wall-clock thresholds.
. "$(dirname "$0")/build_helpers.inc"
ctx c
cat >c/Dockerfile <<'DF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM base AS s1
RUN cut -d' ' -f1 /proc/uptime >/start && sleep 1 && cut -d' ' -f1 /proc/uptime >/end
FROM base AS s2
RUN cut -d' ' -f1 /proc/uptime >/start && sleep 1 && cut -d' ' -f1 /proc/uptime >/end
FROM base AS s3
RUN cut -d' ' -f1 /proc/uptime >/start && sleep 1 && cut -d' ' -f1 /proc/uptime >/end

FROM base
RUN cut -d' ' -f1 /proc/uptime >/final.start && sleep 0.2 && cut -d' ' -f1 /proc/uptime >/final.end
COPY --from=s1 /start /s1.start
COPY --from=s1 /end /s1.end
COPY --from=s2 /start /s2.start
COPY --from=s2 /end /s2.end
COPY --from=s3 /start /s3.start
COPY --from=s3 /end /s3.end
DF

# times OUT: "name start end" per RUN, from the exported rootfs
times() {
  for n in s1 s2 s3 final; do echo "$n $(cat "$1/$n.start") $(cat "$1/$n.end")"; done
}

b 1 -t par --output "type=local,dest=$W/out1" c
times out1 >t1
python3 - t1 <<'PY' || fail "stages did not overlap: $(tr '\n' ';' <t1)"
import sys
runs = {l.split()[0]: tuple(map(float, l.split()[1:])) for l in open(sys.argv[1])}
s = [runs[k] for k in ("s1", "s2", "s3")]
# The three sleeps share a moment: the latest start comes before the earliest end.
assert max(a for a, _ in s) < min(b for _, b in s), s
# The final stage's RUN comes before its COPY --from=s1 and does not wait for s1.
assert runs["final"][0] < runs["s1"][1], (runs["final"], runs["s1"])
PY
# Plain progress: the interleaved steps each keep their number, and a step
# shown again after another one's lines gets its header again (BuildKit's format).
for s in s1 s2 s3; do
  grep -q "^#[0-9]* \[$s 1/1\] RUN cut" log.1 || fail "no header for stage $s: $(cat log.1)"
  grep -q "^#[0-9]* DONE" log.1 || fail "no DONE line"
done

# builder.max-parallelism = 1: the same RUN steps one at a time.
echo '{"builder": {"max-parallelism": 1}}' >"$MKIMAGE_ROOT/config.json"
b 2 --no-cache -t par --output "type=local,dest=$W/out2" c
times out2 >t2
python3 - t2 <<'PY' || fail "RUN steps overlapped with max-parallelism 1: $(tr '\n' ';' <t2)"
import sys
runs = sorted(tuple(map(float, l.split()[1:])) for l in open(sys.argv[1]))
for (a0, a1), (b0, b1) in zip(runs, runs[1:]):
    assert a1 <= b0, runs
PY
echo '{"builder": {"max-parallelism": "many"}}' >"$MKIMAGE_ROOT/config.json"
b 3 -t par c
log_has 3 'builder.max-parallelism must be a number'
rm "$MKIMAGE_ROOT/config.json"

# A failure while other stages run: the build fails with that step's error
# (not a "cancelled" one from the stages it stopped), and leaves no mount.
cat >c/Dockerfile.fail <<'DF'
FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
FROM base AS slow
RUN sleep 2
FROM slow AS after
RUN echo after-ran
FROM base AS bad
RUN echo broken && exit 7
FROM base
COPY --from=after /bin/busybox /x
COPY --from=bad /bin/busybox /y
DF
b_fails 4 -f c/Dockerfile.fail c
log_has 4 'exit code: 7'
log_has 4 'RUN echo broken'
grep -q 'build cancelled' log.4 && fail "the error is a cancellation: $(tail -5 log.4)"
grep -q '^#[0-9]* \[after' log.4 && fail "a stage started after the failure"
! grep -q "$MKIMAGE_ROOT" /proc/mounts || fail "mounts left under the store root"
pass
