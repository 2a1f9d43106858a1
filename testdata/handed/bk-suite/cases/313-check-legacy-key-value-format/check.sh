# Ported from testLegacyKeyValueFormat in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM scratch\nENV testkey value\nLABEL key value\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
3|LegacyKeyValueFormat|"ENV key=value" should be used instead of legacy "ENV key value" format
4|LegacyKeyValueFormat|"LABEL key=value" should be used instead of legacy "LABEL key value" format
W
done
build_ok_now

new_ctx
printf '\nFROM scratch\nENV testkey=value\nLABEL key=value\n' | df
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now

# a stage the build does not reach: --check reports it, the build does not
# (the Go test does not compare lines in its --check mode; these are the
# instructions' lines)
new_ctx
printf '\nFROM scratch AS a\n\nFROM a AS b\nENV testkey value\nLABEL key value\n\nFROM a AS c\n' | df
checks_are <<'W'
5|LegacyKeyValueFormat|"ENV key=value" should be used instead of legacy "ENV key value" format
6|LegacyKeyValueFormat|"LABEL key=value" should be used instead of legacy "LABEL key value" format
W
build_checks_are < /dev/null; build_ok_now

new_ctx
printf '\nFROM scratch\n# check=skip=LegacyKeyValueFormat\nENV testkey value\n# check=skip=LegacyKeyValueFormat\nLABEL key value\n' | df
checks_are < /dev/null
build_checks_are < /dev/null; build_ok_now
