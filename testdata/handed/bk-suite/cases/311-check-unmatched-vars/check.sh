# Ported from testUnmatchedVars in moby/buildkit frontend/dockerfile/dockerfile_check_test.go (busybox stands in for alpine)
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

both() { local w; w=$(cat); checks_are <<< "$w"; build_checks_are <<< "$w"; }

new_ctx
printf '\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n' | df
both < /dev/null; build_ok_now

# an ARG of the base stage is defined in the child
new_ctx
printf '\nFROM busybox AS base\nARG foo=Dockerfile\n\nFROM base\nCOPY $foo .\n' | df
both < /dev/null; build_ok_now

# RUN is not expanded by the builder; PATH comes from the image
new_ctx
printf '\nFROM busybox\nRUN echo $PATH\n' | df
checks_are < /dev/null

new_ctx
printf '\nFROM busybox\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n' | df
checks_are <<'W'
3|UndefinedVar|Usage of undefined variable '$foo'
W

new_ctx
printf '\nFROM busybox\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n\t' | df
both <<'W'
6|UndefinedVar|Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)
W

new_ctx
printf '\nFROM busybox\nENV PATH=$PAHT:/tmp/bin\n\t\t' | df
both <<'W'
3|UndefinedVar|Usage of undefined variable '$PAHT' (did you mean $PATH?)
W
build_ok_now
