# Ported from testStageName in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
df <<'DF'

# warning: stage name should be lowercase
#
FROM scratch AS BadStageName

# warning: 'as' should match 'FROM' cmd casing.
#
FROM scratch as base2

FROM scratch AS base3
DF
for f in checks_are build_checks_are; do
  $f <<'W'
4|StageNameCasing|Stage name 'BadStageName' should be lowercase
8|FromAsCasing|'as' and 'FROM' keywords' casing do not match
W
done
build_ok_now

new_ctx
df <<'DF'

# warning: 'AS' should match 'from' cmd casing.
#
from scratch AS base

from scratch as base2
DF
for f in checks_are build_checks_are; do
  $f <<'W'
4|FromAsCasing|'AS' and 'from' keywords' casing do not match
W
done
build_ok_now
