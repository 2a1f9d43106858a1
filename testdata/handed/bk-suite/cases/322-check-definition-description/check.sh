# Ported from testDefinitionDescription in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"
# InvalidDefinitionDescription is experimental: only experimental=… enables it.

new_ctx
df <<'DF'
# check=skip=all;experimental=InvalidDefinitionDescription
# foo this is the foo
ARG foo=bar

# base this is the base image
FROM scratch AS base

# version this is the version number
ARG version=latest

# baz this is the baz
ARG foo=baz bar=qux baz=quux
#
ARG bit=bat

# comment for something other than ARG or FROM
COPY Dockerfile .
DF
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now

new_ctx
df <<'DF'
# check=experimental=InvalidDefinitionDescription
# bar this is the bar
ARG foo=bar
# BasE this is the BasE image
FROM scratch AS base
# definitely a bad comment
ARG version=latest
# definitely a bad comment
ARG foo=baz bar=qux baz=quux
DF
for f in checks_are build_checks_are; do
  $f <<'W'
3|InvalidDefinitionDescription|Comment for ARG should follow the format: `# foo <description>`
5|InvalidDefinitionDescription|Comment for FROM should follow the format: `# base <description>`
7|InvalidDefinitionDescription|Comment for ARG should follow the format: `# version <description>`
9|InvalidDefinitionDescription|Comment for ARG should follow the format: `# <arg_key> <description>`
W
done
