#!/usr/bin/env bash
# `mkimage build --dry-run` predicts the real build on every step of a mutation
# corpus and leaves the store untouched (tests/e2e/dry_run_corpus.py; issue 13,
# must show 1). DRY_RUN_SEED=N replays a run, DRY_RUN_MUTATIONS=N sets its size.
. "$(dirname "$0")/build_helpers.inc"
command -v python3 >/dev/null || skip "python3 is not installed"
MKIMAGE_SOURCE_DIR=$SRC MKIMAGE_HANDED_DIR=$HANDED python3 "$SRC/tests/e2e/dry_run_corpus.py" || fail "see above"
pass
