# Ported from testCopyIgnoredFileContextRoot in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

# dotfiles: "." itself is not ignored by ".*"
new_ctx
printf '\nFROM scratch\nCOPY . .\n' | df
printf '\n.*\n' | dockerignore
checks_are < /dev/null
build_checks_are < /dev/null

# wildcard: "*" leaves out every entry of the root
new_ctx
printf '\nFROM scratch\nCOPY . .\n' | df
printf '\n*\n' | dockerignore
for f in checks_are build_checks_are; do
  $f <<'W'
3|CopyIgnoredFile|Attempting to Copy file "." that is excluded by .dockerignore
W
done
