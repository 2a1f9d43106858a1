#!/usr/bin/env bash
# mkimage cp both ways, and rm freeing the writable layer.
source "$(dirname "$0")/run_common.bash"

M run --name box bb:latest sh -c 'mkdir -p /data && echo inside > /data/file.txt' >/dev/null
id=$(M ps -a -q)
full=$(ls "$MKIMAGE_ROOT/containers")
[ -d "$MKIMAGE_ROOT/containers/$full/fs/upper/data" ] || fail "the writable layer holds the change"
M cp box:/data/file.txt "$WORK/out.txt"
expect_eq "$(cat "$WORK/out.txt")" "inside" "cp container → host"
mkdir "$WORK/outdir"
M cp box:/data "$WORK/outdir"
expect_eq "$(cat "$WORK/outdir/data/file.txt")" "inside" "cp of a directory into an existing host directory"
echo "from host" > "$WORK/in.txt"
M cp "$WORK/in.txt" box:/data/
M cp "$WORK/in.txt" box:/renamed.txt
expect_eq "$(M start -a box >/dev/null; M run --rm bb:latest true; echo)" "" "restart"
M cp box:/data/in.txt "$WORK/back.txt"
expect_eq "$(cat "$WORK/back.txt")" "from host" "cp host → container (into a directory)"
M cp box:/renamed.txt "$WORK/back2.txt"
expect_eq "$(cat "$WORK/back2.txt")" "from host" "cp host → container (new name)"
M rm box >/dev/null
[ ! -e "$MKIMAGE_ROOT/containers/$full" ] || fail "rm frees the writable layer"
echo "ok: rm frees the writable layer ($id)"
expect_eq "$(M ps -a -q)" "" "rm removes the record"
echo "run_cp: all passed"
