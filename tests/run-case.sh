#!/usr/bin/env bash
# Runs one testdata/handed/cases/<case>/check.sh against the mkimage binary in $MKIMAGE,
# with a store root of its own that is removed afterwards.
set -u
check=$1
root=$(mktemp -d "${TMPDIR:-/tmp}/mkimage-case-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
export MKIMAGE_ROOT=$root
export B="$MKIMAGE build"
# The shared cases are read-only (files 0444); their Setup means files made with
# the default umask (0644), so run a writable copy of the case and its helpers.
cases=$(mktemp -d "${TMPDIR:-/tmp}/mkimage-case.XXXXXX")
trap 'rm -rf "$root" "$cases"' EXIT
case_dir=$(dirname "$check")
cp "$(dirname "$case_dir")"/lib.* "$cases"/ && cp -a "$case_dir" "$cases"/ && chmod -R u+w "$cases"
bash "$cases/$(basename "$case_dir")/$(basename "$check")"
