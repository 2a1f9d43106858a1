# Ported from testCopyIgnoredFiles in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

ignored=$(cat <<'W'
3|CopyIgnoredFile|Attempting to Copy file "Dockerfile" that is excluded by .dockerignore
4|CopyIgnoredFile|Attempting to Add file "Dockerfile" that is excluded by .dockerignore
W
)
new_ctx
printf '\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n' | df
printf '\nDockerfile\n' | dockerignore
checks_are <<< "$ignored"
build_checks_are <<< "$ignored"
build_failed_with '"/Dockerfile": not found'

new_ctx
printf '# check=skip=CopyIgnoredFile\n\nFROM scratch\nCOPY Dockerfile .\nADD Dockerfile /windy\n' | df
printf '\nDockerfile\n' | dockerignore
checks_are < /dev/null
build_checks_are < /dev/null
build_failed_with '"/Dockerfile": not found'

# COPY --from a stage is not the context
new_ctx
printf '\nFROM scratch AS base\nCOPY Dockerfile /foobar\nADD Dockerfile /windy\n\nFROM base\nCOPY --from=base /foobar /Dockerfile\n' | df
printf '\nfoobar\n' | dockerignore
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now

# exceptions in .dockerignore turn the check off
new_ctx
printf '\nFROM scratch\nCOPY ./Dockerfile .\n' | df
printf '\n**\n!Dockerfile\n' | dockerignore
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now

new_ctx
printf '\nFROM scratch\nCOPY . .\n\t' | df
printf '\n**\n!Dockerfile\n' | dockerignore
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now
