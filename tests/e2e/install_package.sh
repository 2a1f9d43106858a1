#!/usr/bin/env bash
# Installing mkimage and embedding it from outside the tree:
#   - `cmake --install BUILD --prefix P` puts the binary, libmkimage.so (SONAME
#     libmkimage.so.0), the public headers, the CMake package, mkimage.pc, the man
#     page and the bash completion in place;
#   - every public header compiles on its own and includes only the standard
#     library and the other public headers;
#   - libmkimage.so exports only the public API (namespace mkimage);
#   - an out-of-tree project (tests/consumer) finds it with find_package(mkimage)
#     and another program builds with `pkg-config --cflags --libs mkimage`; both
#     run two builds through mkimage::build() (exit 77 there when not root);
#   - `cpack -G DEB` makes a .deb whose control data declares runc, libarchive,
#     libcurl and the linked libraries, whose files are the installed ones, and
#     whose mkimage (unpacked with dpkg -x) runs.
# Env: MKIMAGE (build/mkimage: its directory is the build tree). Exit 77 = skipped.
set -u
TEST=install_package
skip() { echo "$TEST: skipped: $*"; exit 77; }
fail() { echo "$TEST: FAIL: $*"; exit 1; }
: "${MKIMAGE:?MKIMAGE must name build/mkimage}"
B=$(cd "$(dirname "$MKIMAGE")" && pwd)
SRC=${MKIMAGE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -f "$B/CMakeCache.txt" ] || skip "$B is not a CMake build tree"
# A sanitizer build's libmkimage.so needs the ASan runtime loaded first, which
# an ordinary consumer program does not do; it is never what gets installed.
! grep -q '^MKIMAGE_SANITIZE:BOOL=ON$' "$B/CMakeCache.txt" ||
  skip "$B is a sanitizer build (MKIMAGE_SANITIZE=ON): installing and packaging are tested against the normal build"
for t in cmake c++ pkg-config nm c++filt; do command -v $t >/dev/null || skip "$t is not installed"; done
W=$(mktemp -d "${TMPDIR:-/tmp}/mkimage-$TEST.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
P=$W/prefix

cmake --install "$B" --prefix "$P" >"$W/install.log" 2>&1 || fail "cmake --install: $(tail -n 5 "$W/install.log")"
for f in bin/mkimage lib/libmkimage.so lib/libmkimage.so.0 include/mkimage/build.hpp include/mkimage/digest.hpp \
  include/mkimage/result.hpp include/mkimage/export.hpp lib/cmake/mkimage/mkimageConfig.cmake \
  lib/cmake/mkimage/mkimageConfigVersion.cmake lib/cmake/mkimage/mkimageTargets.cmake lib/pkgconfig/mkimage.pc \
  share/bash-completion/completions/mkimage; do
  [ -e "$P/$f" ] || fail "cmake --install did not install $f"
done
if command -v go-md2man >/dev/null; then
  [ -f "$P/share/man/man1/mkimage.1.gz" ] || fail "no man page although go-md2man is installed"
  man -l "$P/share/man/man1/mkimage.1.gz" 2>/dev/null | grep -q "daemonless Dockerfile build engine" || fail "the man page does not render"
fi
soname=$(objdump -p "$P/lib/libmkimage.so" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libmkimage.so.0 ] || fail "SONAME is '$soname', want libmkimage.so.0"
"$P/bin/mkimage" --version | grep -q '^mkimage [0-9]' || fail "the installed mkimage does not run"
bash -c "source '$P/share/bash-completion/completions/mkimage' && complete -p mkimage" >/dev/null 2>&1 ||
  fail "the bash completion does not load"

# Public headers: self-contained, standard library and each other only.
for h in "$P"/include/mkimage/*.hpp; do
  bad=$(grep -E '^#include' "$h" | grep -vE '^#include <[a-z_]+>$|^#include "mkimage/[a-z_]+\.hpp"$') &&
    fail "$(basename "$h") includes more than the standard library and mkimage/: $bad"
  echo "#include <mkimage/$(basename "$h")>" | c++ -std=c++20 -fsyntax-only -I"$P/include" -x c++ - 2>"$W/hdr.err" ||
    fail "$(basename "$h") does not compile on its own: $(head -n 5 "$W/hdr.err")"
done

# Exported symbols: the public API only.
nm -D --defined-only "$P/lib/libmkimage.so" | c++filt | awk '{$1=$2=""; sub(/^ +/, ""); print}' >"$W/symbols"
[ -s "$W/symbols" ] || fail "libmkimage.so exports nothing"
others=$(grep -vE '^(mkimage::|vtable for mkimage::|typeinfo (name )?for mkimage::)' "$W/symbols" | head -n 5)
[ -z "$others" ] || fail "libmkimage.so exports more than the API: $others"
grep -q '^mkimage::build(' "$W/symbols" || fail "libmkimage.so does not export mkimage::build"

# Consumers: find_package and pkg-config.
run_consumer() {  # LABEL PROGRAM
  local rc=0
  "$2" >"$W/$1.out" 2>&1 || rc=$?
  case $rc in
    0) ;;
    77) echo "$TEST: note: the $1 consumer could not build an image here: $(cat "$W/$1.out")" ;;
    *) fail "the $1 consumer failed ($rc): $(tail -n 5 "$W/$1.out")" ;;
  esac
}
cmake -S "$SRC/tests/consumer" -B "$W/c1" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release >"$W/c1.log" 2>&1 &&
  cmake --build "$W/c1" >>"$W/c1.log" 2>&1 || fail "the find_package consumer does not build: $(tail -n 8 "$W/c1.log")"
ldd "$W/c1/consumer" | grep -q "libmkimage.so.0 => $P/lib" || fail "the consumer is not linked with the installed libmkimage.so.0"
run_consumer find_package "$W/c1/consumer"
# shellcheck disable=SC2046
c++ -std=c++20 -O1 "$SRC/tests/embed/embed_build.cpp" -o "$W/c2" \
  $(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs mkimage) -Wl,-rpath,"$P/lib" 2>"$W/c2.log" ||
  fail "the pkg-config consumer does not build: $(tail -n 8 "$W/c2.log")"
run_consumer pkg-config "$W/c2"

# The Debian package.
if ! command -v cpack >/dev/null || ! command -v dpkg-deb >/dev/null || ! command -v dpkg-shlibdeps >/dev/null; then
  echo "$TEST: the .deb part skipped: cpack, dpkg-deb or dpkg-shlibdeps (dpkg-dev) is not installed"
  echo "$TEST: ok"
  exit 0
fi
(cd "$B" && cpack -G DEB -B "$W/deb") >"$W/cpack.log" 2>&1 || fail "cpack -G DEB: $(tail -n 8 "$W/cpack.log")"
deb=$(ls "$W"/deb/mkimage_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "cpack made no mkimage_*.deb: $(tail -n 5 "$W/cpack.log")"
depends=$(dpkg-deb -f "$deb" Depends)
for d in runc slirp4netns golang-github-containers-common libarchive13 libcurl4 libsqlite3-0 libc6; do
  echo "$depends" | grep -qw "$d" || fail ".deb Depends lacks $d: $depends"
done
dpkg-deb -c "$deb" | awk '{print $NF}' >"$W/deb.files"
for f in ./usr/bin/mkimage ./usr/lib/libmkimage.so.0.1.0 ./usr/share/man/man1/mkimage.1.gz ./usr/include/mkimage/build.hpp \
  ./usr/lib/cmake/mkimage/mkimageConfig.cmake ./usr/lib/pkgconfig/mkimage.pc; do
  grep -qxF "$f" "$W/deb.files" || fail ".deb lacks $f"
done
dpkg -x "$deb" "$W/root" || fail "dpkg -x $deb"
"$W/root/usr/bin/mkimage" --version | grep -q '^mkimage 0\.' || fail "the packaged mkimage does not run"
echo "$TEST: ok ($(basename "$deb"), $(du -h "$deb" | cut -f1))"
