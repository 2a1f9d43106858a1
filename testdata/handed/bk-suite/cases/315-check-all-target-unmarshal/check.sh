# Ported from testAllTargetUnmarshal in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

# --check walks every stage; the build only the target and what it needs
new_ctx
printf '\nFROM scratch AS first\nCOPY $foo .\n\nFROM scratch AS second\nCOPY $bar .\n' | df
checks_are <<'W'
3|UndefinedVar|Usage of undefined variable '$foo'
6|UndefinedVar|Usage of undefined variable '$bar'
W
build_checks_are <<'W'
6|UndefinedVar|Usage of undefined variable '$bar'
W
