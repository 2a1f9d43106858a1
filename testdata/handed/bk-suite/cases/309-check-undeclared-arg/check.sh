# Ported from testUndeclaredArg in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

# declared, automatic, or default-valued args: no warning
while IFS= read -r text; do
  new_ctx
  printf '%b' "$text" | df
  checks_are < /dev/null
  build_checks_are < /dev/null; build_ok_now
done <<'CASES'
\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n
\nARG BUILDPLATFORM=linux/amd64\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n
\nFROM --platform=$BUILDPLATFORM scratch\nCOPY Dockerfile .\n
\nARG DEBUG\nFROM scratch${DEBUG}\nCOPY Dockerfile .\n
\nARG DEBUG\nFROM scra${DEBUG:-tch}\nCOPY Dockerfile .\n
\nARG DEBUG=""\nFROM scratch${DEBUG-@bogus}\nCOPY Dockerfile .\n
CASES

new_ctx
printf '\nFROM --platform=$BULIDPLATFORM scratch\nCOPY Dockerfile .\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
2|UndefinedArgInFrom|FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)
W
done
build_failed_with 'empty platform value from expression $BULIDPLATFORM'

# busybox stands in for the Go test's busybox/nanoserver
new_ctx
printf '\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\nCOPY Dockerfile .\n\t' | df
for f in checks_are build_checks_are; do
  $f <<'W'
4|UndefinedArgInFrom|FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)
W
done
build_failed_with 'failed to parse platform linux/${MYARCH}'

new_ctx
printf '\nARG tag=latest\nFROM busybox:${tag}${version} AS b\nCOPY Dockerfile .\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
3|UndefinedArgInFrom|FROM argument 'version' is not declared
W
done
build_ok_now
