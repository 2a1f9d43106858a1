#!/usr/bin/env bash
# Runs one ../shared/cases/<case>/check.sh against the mkimage binary in $MKIMAGE,
# with a store root of its own that is removed afterwards.
set -u
check=$1
root=$(mktemp -d "${TMPDIR:-/tmp}/mkimage-case-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
export MKIMAGE_ROOT=$root
export B="$MKIMAGE build"
bash "$check"
