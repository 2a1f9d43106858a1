# Ported from testInvalidDefaultArgInFrom in moby/buildkit frontend/dockerfile/dockerfile_check_test.go
. "$BK_LIB"; . "$(dirname "$BK_LIB")/lib_check.sh"
# The checks use the ARG defaults, not the --build-arg values the build gets.

new_ctx
printf '\nARG VERSION\nFROM busybox:$VERSION\n' | df
for f in checks_are build_checks_are; do
  $f --build-arg VERSION=latest <<'W'
3|InvalidDefaultArgInFrom|Default value for ARG busybox:$VERSION results in empty or invalid base image name
W
done
build_ok_now

new_ctx
printf '\nARG IMAGE\nFROM $IMAGE\n' | df
for f in checks_are build_checks_are; do
  $f --build-arg IMAGE=busybox:latest <<'W'
3|InvalidDefaultArgInFrom|Default value for ARG $IMAGE results in empty or invalid base image name
W
done
build_ok_now

new_ctx
printf '\nARG SFX="box:"\nFROM busy${SFX}\n' | df
for f in checks_are build_checks_are; do
  $f --build-arg SFX=box:latest <<'W'
3|InvalidDefaultArgInFrom|Default value for ARG busy${SFX} results in empty or invalid base image name
W
done
build_ok_now

# valid defaults: no warning (busybox:stable-musl is tagged from busybox:latest here)
"$B" tag busybox:latest busybox:stable-musl > "$OUT/tag.log" 2>&1 || fail "mkimage tag failed: $(tail -n 1 "$OUT/tag.log")"
new_ctx
printf '\nARG VERSION="latest"\nFROM busybox:${VERSION}\n' | df
checks_are --build-arg VERSION=latest < /dev/null
build_checks_are --build-arg VERSION=latest < /dev/null; build_ok_now

new_ctx
printf '\nARG BUSYBOX_VARIANT=""\nFROM busybox:stable${BUSYBOX_VARIANT}\n' | df
checks_are --build-arg BUSYBOX_VARIANT=-musl < /dev/null
build_checks_are --build-arg BUSYBOX_VARIANT=-musl < /dev/null; build_ok_now

new_ctx
printf '\n\tARG BUSYBOX_VARIANT\n\tFROM busybox:stable${BUSYBOX_VARIANT}\n\t' | df
checks_are --build-arg BUSYBOX_VARIANT=-musl < /dev/null
build_checks_are --build-arg BUSYBOX_VARIANT=-musl < /dev/null; build_ok_now
