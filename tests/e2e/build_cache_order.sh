#!/usr/bin/env bash
# The ordering lesson (testdata/cache-order): after a source edit the install step
# re-runs when it follows `COPY . .` and is CACHED when only the manifest was copied
# before it; after a manifest edit it re-runs in both.
. "$(dirname "$0")/build_helpers.inc"
cp -a "$SRC/testdata/cache-order" app && ctx app
for df in naive ordered; do
  b "$df.1" -f "app/Dockerfile.$df" -t "order-$df" app
  cache "$df.1" 'RUN sh install.sh' MISS
  b "$df.2" -f "app/Dockerfile.$df" -t "order-$df" app
  cache "$df.2" 'RUN sh install.sh' HIT 'COPY . .' HIT
done
echo 'echo "edited"' >>app/src/util.sh
for df in naive ordered; do b "$df.3" -f "app/Dockerfile.$df" app; done
cache naive.3 'COPY . .' MISS 'RUN sh install.sh' MISS
cache ordered.3 'COPY deps.txt' HIT 'RUN sh install.sh' HIT 'COPY . .' MISS
echo 'lodash 4.17.21' >>app/deps.txt
for df in naive ordered; do b "$df.4" -f "app/Dockerfile.$df" --output type=local,dest=out-$df app; done
cache naive.4 'RUN sh install.sh' MISS
cache ordered.4 'COPY deps.txt' MISS 'RUN sh install.sh' MISS
for df in naive ordered; do
  [ -f "out-$df/app/node_modules/lodash/package.json" ] || fail "$df: lodash was not installed"
  grep -q edited "out-$df/app/src/util.sh" || fail "$df: the source edit is missing"
done
log_has naive.4 'installed 4 packages'
pass
