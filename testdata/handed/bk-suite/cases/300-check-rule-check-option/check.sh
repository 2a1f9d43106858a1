# Ported from testRuleCheckOption in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

# skip=all (with and without error=true), and a list of skipped rules: no warning
for opts in "skip=all" "skip=all;error=true" "skip=ConsistentInstructionCasing,FromAsCasing" \
            "skip=ConsistentInstructionCasing,FromAsCasing;error=true"; do
  new_ctx
  printf '#check=%s\nFROM scratch as base\ncopy Dockerfile .\n' "$opts" | df
  checks_are < /dev/null
  build_checks_are < /dev/null; build_ok_now
done

new_ctx
df <<'DF'
#check=skip=ConsistentInstructionCasing
FROM scratch as base
copy Dockerfile .
DF
checks_are <<'W'
2|FromAsCasing|'as' and 'FROM' keywords' casing do not match
W
build_checks_are <<'W'
2|FromAsCasing|'as' and 'FROM' keywords' casing do not match
W
build_ok_now

# error=true: the warning fails the build
new_ctx
df <<'DF'
#check=skip=ConsistentInstructionCasing;error=true
FROM scratch as base
copy Dockerfile .
DF
checks_are <<'W'
2|FromAsCasing|'as' and 'FROM' keywords' casing do not match
W
check_failed_with "lint violation found for rules: FromAsCasing"
build_checks_are <<'W'
2|FromAsCasing|'as' and 'FROM' keywords' casing do not match
W
build_failed_with "lint violation found for rules: FromAsCasing"

# the build arg replaces the directive
new_ctx
df <<'DF'
#check=skip=all
FROM scratch as base
copy Dockerfile .
DF
checks_are --build-arg "BUILDKIT_DOCKERFILE_CHECK=skip=ConsistentInstructionCasing;error=true" <<'W'
2|FromAsCasing|'as' and 'FROM' keywords' casing do not match
W
check_failed_with "lint violation found for rules: FromAsCasing"
build_checks_are --build-arg "BUILDKIT_DOCKERFILE_CHECK=skip=ConsistentInstructionCasing;error=true" <<'W'
2|FromAsCasing|'as' and 'FROM' keywords' casing do not match
W
build_failed_with "lint violation found for rules: FromAsCasing"

new_ctx
df <<'DF'
#check=error=true
FROM scratch as base
copy Dockerfile .
DF
checks_are --build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all < /dev/null
build_checks_are --build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all < /dev/null
build_ok_now
