# Ported from testExposeInvalidFormat in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"

new_ctx
printf '\nFROM scratch\nEXPOSE 127.0.0.1:80:80 [::1]:8080:8080 5000:5000 8000\n' | df
for f in checks_are build_checks_are; do
  $f <<'W'
3|ExposeInvalidFormat|EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:80:80'
3|ExposeInvalidFormat|EXPOSE instruction should not define an IP address or host-port mapping, found '5000:5000'
3|ExposeInvalidFormat|EXPOSE instruction should not define an IP address or host-port mapping, found '[::1]:8080:8080'
W
done
build_ok_now
