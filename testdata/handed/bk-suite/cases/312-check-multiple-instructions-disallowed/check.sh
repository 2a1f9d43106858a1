# Ported from testMultipleInstructionsDisallowed in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

both() { local w; w=$(cat); checks_are <<< "$w"; build_checks_are <<< "$w"; build_ok_now; }
m() { echo "$2|MultipleInstructionsDisallowed|Multiple $1 instructions should not be used in the same stage because only the last one will be used"; }

new_ctx
df <<'DF'

FROM scratch
ENTRYPOINT ["/myapp"]
ENTRYPOINT ["/myotherapp"]
CMD ["/myapp"]
CMD ["/myotherapp"]
HEALTHCHECK CMD ["/myapp"]
HEALTHCHECK CMD ["/myotherapp"]
DF
both <<< "$(m ENTRYPOINT 3; m CMD 5; m HEALTHCHECK 7)"

# still reported with another instruction between them
new_ctx
df <<'DF'

FROM scratch
ENTRYPOINT ["/myapp"]
CMD ["/myapp"]
HEALTHCHECK CMD ["/myapp"]
COPY <<EOF /a.txt
Hello, World!
EOF
ENTRYPOINT ["/myotherapp"]
CMD ["/myotherapp"]
HEALTHCHECK CMD ["/myotherapp"]
DF
both <<< "$(m ENTRYPOINT 3; m CMD 4; m HEALTHCHECK 5)"

# one of each per stage is fine
new_ctx
df <<'DF'

FROM scratch AS a
ENTRYPOINT ["/myapp"]
CMD ["/myapp"]
HEALTHCHECK CMD ["/myapp"]

FROM a AS b
ENTRYPOINT ["/myotherapp"]
CMD ["/myotherapp"]
HEALTHCHECK CMD ["/myotherapp"]
DF
both < /dev/null
