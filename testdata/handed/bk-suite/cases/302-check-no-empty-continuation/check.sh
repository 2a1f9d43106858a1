# Ported from testNoEmptyContinuation in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
df <<'DF'

FROM scratch
# warning: empty continuation line
COPY Dockerfile \

.
COPY Dockerfile \
.
DF
for f in checks_are build_checks_are; do
  $f <<'W'
6|NoEmptyContinuation|Empty continuation line
W
done
build_ok_now
