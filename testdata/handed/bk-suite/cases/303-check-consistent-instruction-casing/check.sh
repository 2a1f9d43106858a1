# Ported from testConsistentInstructionCasing in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

both() { local w; w=$(cat); checks_are <<< "$w"; build_checks_are <<< "$w"; build_ok_now; }

new_ctx
df <<'DF'

# warning: 'FROM' should be either lowercased or uppercased
#
From scratch as base
FROM scratch AS base2
DF
both <<'W'
4|ConsistentInstructionCasing|Command 'From' should match the case of the command majority (uppercase)
W

new_ctx
df <<'DF'

FROM scratch
# warning: 'copy' should match command majority's casing (uppercase)
copy Dockerfile /foo
COPY Dockerfile /bar
DF
both <<'W'
4|ConsistentInstructionCasing|Command 'copy' should match the case of the command majority (uppercase)
W

new_ctx
df <<'DF'

# warning: 'frOM' should be either lowercased or uppercased
#
frOM scratch as base
from scratch as base2
DF
both <<'W'
4|ConsistentInstructionCasing|Command 'frOM' should match the case of the command majority (lowercase)
W

new_ctx
df <<'DF'

from scratch
# warning: 'COPY' should match command majority's casing (lowercase)
COPY Dockerfile /foo
copy Dockerfile /bar
DF
both <<'W'
4|ConsistentInstructionCasing|Command 'COPY' should match the case of the command majority (lowercase)
W

new_ctx
df <<'DF'

# warning: 'from' should match command majority's casing (uppercase)
#
from scratch
COPY Dockerfile /foo
COPY Dockerfile /bar
COPY Dockerfile /baz
DF
both <<'W'
4|ConsistentInstructionCasing|Command 'from' should match the case of the command majority (uppercase)
W

new_ctx
df <<'DF'

# warning: 'FROM' should match command majority's casing (lowercase)
#
FROM scratch
copy Dockerfile /foo
copy Dockerfile /bar
copy Dockerfile /baz
DF
both <<'W'
4|ConsistentInstructionCasing|Command 'FROM' should match the case of the command majority (lowercase)
W

new_ctx
printf '\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n' | df
both < /dev/null

new_ctx
printf '\nFROM scratch\nCOPY Dockerfile /foo\nCOPY Dockerfile /bar\n' | df
both < /dev/null

# a heredoc body is not an instruction (busybox stands in for alpine)
new_ctx
df <<'DF'

FROM busybox
RUN <<'EOT'
env
EOT
DF
checks_are < /dev/null
