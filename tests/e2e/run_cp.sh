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
# Restart: box's command runs again on the same writable layer (it rewrites
# /data/file.txt, changed from the host first); the files copied in stay (checked
# below), and a `run --rm` next to it leaves only box.
echo changed > "$WORK/changed.txt"
M cp "$WORK/changed.txt" box:/data/file.txt
M cp box:/data/file.txt "$WORK/before.txt"
expect_eq "$(cat "$WORK/before.txt")" "changed" "cp host → container over an existing file"
M start -a box || fail "restart: mkimage start -a box exited $?"
M cp box:/data/file.txt "$WORK/after.txt"
expect_eq "$(cat "$WORK/after.txt")" "inside" "restart: the command ran again on the container's writable layer"
M run --rm bb:latest true || fail "run --rm next to a stopped container exited $?"
expect_eq "$(M ps -a -q)" "$id" "run --rm leaves only the stopped container"
M cp box:/data/in.txt "$WORK/back.txt"
expect_eq "$(cat "$WORK/back.txt")" "from host" "cp host → container (into a directory)"
M cp box:/renamed.txt "$WORK/back2.txt"
expect_eq "$(cat "$WORK/back2.txt")" "from host" "cp host → container (new name)"
M rm box >/dev/null
[ ! -e "$MKIMAGE_ROOT/containers/$full" ] || fail "rm frees the writable layer"
echo "ok: rm frees the writable layer ($id)"
expect_eq "$(M ps -a -q)" "" "rm removes the record"
echo "run_cp: all passed"
