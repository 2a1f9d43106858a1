# Ported from testWarningsBeforeError in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
df <<'DF'

FROM scratch AS BadStageName
MAINTAINER me@example.org
BADCMD
DF
for f in checks_are build_checks_are; do
  $f <<'W'
2|StageNameCasing|Stage name 'BadStageName' should be lowercase
3|MaintainerDeprecated|Maintainer instruction is deprecated in favor of using label
W
done
build_failed_with "unknown instruction: BADCMD"
checks_are <<'W' 
2|StageNameCasing|Stage name 'BadStageName' should be lowercase
3|MaintainerDeprecated|Maintainer instruction is deprecated in favor of using label
W
check_failed_with "unknown instruction: BADCMD"
