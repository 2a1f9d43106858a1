#!/usr/bin/env bash
# The bundled example, end to end, on a fresh Debian 12 machine as root:
#   1. installs what it needs and builds mkimage;
#   2. makes the base images once (reused when present): debian:bookworm with
#      debootstrap + `mkimage import`, then node:latest from testdata/node-base;
#   3. builds goals:latest from testdata/goals-app, runs it with -p 3000:80 and
#      fetches the page;
#   4. adds "!" to the page heading in a copy of the app, rebuilds, and shows that
#      `COPY package.json` and `RUN npm install` come from the cache while
#      `COPY . /app` runs again, and that the new page shows the "!";
#   5. starts a registry on 127.0.0.1 (Debian's docker-registry), pushes
#      goals:latest to it, pulls it into a second, empty store and runs it from there.
# Exits non-zero if any of that fails. Environment: MKIMAGE_ROOT (store root,
# default /var/lib/mkimage), DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }

say "Installing dependencies and building mkimage"
MKIMAGE_DEPS_DEMO=1 bash scripts/deps.sh
bash scripts/build.sh >/dev/null
mk() { "$src/build/mkimage" "$@"; }

work=$(mktemp -d /tmp/mkimage-demo.XXXXXX)
registry_pid=
cleanup() {
  mk stop goals >/dev/null 2>&1 || true
  mk rm -f goals >/dev/null 2>&1 || true
  if [ -n "$registry_pid" ]; then
    MKIMAGE_ROOT=$work/store2 mk stop goals2 >/dev/null 2>&1 || true
    MKIMAGE_ROOT=$work/store2 mk rm -f goals2 >/dev/null 2>&1 || true
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# --- base images -------------------------------------------------------------
bases="debian:bookworm and node:latest reused from the store"
if mk image inspect debian:bookworm >/dev/null 2>&1; then
  say "debian:bookworm is present; reusing it"
else
  t0=$(now)
  say "Making debian:bookworm with debootstrap (minbase) and mkimage import"
  rootfs=$work/rootfs
  debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; die "debootstrap"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -cf - . | mk import --change 'CMD ["bash"]' - debian:bookworm
  rm -rf "$rootfs"
  bases="debian:bookworm made in $(elapsed "$t0" "$(now)")s;"
fi

if mk image inspect node:latest >/dev/null 2>&1; then
  say "node:latest is present; reusing it"
else
  say "Building node:latest from testdata/node-base (apt-get install nodejs npm)"
  ctx=$work/node-base
  cp -r testdata/node-base "$ctx"
  # The machine's own extra certificate authorities (e.g. a TLS-intercepting
  # proxy's) go into the image's trust store; see testdata/node-base/Dockerfile.
  for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$crt" ] && cp "$crt" "$ctx/extra-ca/"
  done
  t0=$(now)
  mk build --progress plain -t node:latest "$ctx" >"$work/node-base.log" 2>&1 ||
    { tail -30 "$work/node-base.log"; die "building node:latest"; }
  case $bases in
    *reused*) bases="debian:bookworm reused;" ;;
  esac
  bases="$bases node:latest built in $(elapsed "$t0" "$(now)")s"
fi

# --- goals:latest ------------------------------------------------------------
# --no-cache makes the first build a cold one on every run of the demo (its
# results still go into the cache, so the rebuild below can use them).
say "Building goals:latest from testdata/goals-app (cold: --no-cache)"
t0=$(now)
(cd testdata/goals-app && mk build --no-cache --progress plain -t goals:latest .) 2>&1 | tee "$work/build1.log" ||
  die "building goals:latest"
t1=$(now)
cold=$(elapsed "$t0" "$t1")

# fetch URL TEXT: the page answers (within 30 s) and contains TEXT
fetch() {
  local page
  for _ in $(seq 60); do
    if page=$(curl -fsS "$1" 2>/dev/null); then
      [[ $page == *"$2"* ]] && { printf '%s\n' "$page" | grep -m1 '<h1>'; return 0; }
      die "page at $1 lacks '$2'"
    fi
    sleep 0.5
  done
  die "no answer from $1"
}

say "Running goals:latest with -p 3000:80"
mk run -d --rm -p 3000:80 --name goals goals:latest
fetch http://127.0.0.1:3000/ "<h1>Course Goals</h1>"
mk stop goals >/dev/null

# --- the cache lesson --------------------------------------------------------
say "Editing the page heading in a copy of the app and rebuilding"
app=$work/goals-app
cp -r testdata/goals-app "$app"
sed -i 's|<h1>Course Goals</h1>|<h1>Course Goals!</h1>|' "$app/server.js"
# A comment with the time keeps this edit new on every run of the demo, so the
# cache cannot hold it from an earlier run.
echo "// edited by scripts/demo.sh at $(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" >>"$app/server.js"
t0=$(now)
(cd "$app" && mk build --progress plain -t goals:latest .) 2>&1 | tee "$work/build2.log" ||
  die "rebuilding goals:latest"
t1=$(now)
warm=$(elapsed "$t0" "$t1")

# step_cached LOG TEXT: prints CACHED or RAN for the step whose name contains TEXT
step_cached() { python3 "$src/scripts/step_cached.py" "$1" "$2"; }
copy_pkg=$(step_cached "$work/build2.log" "COPY package.json") || die "no COPY package.json step"
npm_install=$(step_cached "$work/build2.log" "RUN npm install") || die "no RUN npm install step"
copy_all=$(step_cached "$work/build2.log" "COPY . /app") || die "no COPY . /app step"
[ "$copy_pkg" = CACHED ] || die "COPY package.json was not CACHED"
[ "$npm_install" = CACHED ] || die "RUN npm install was not CACHED"
[ "$copy_all" = RAN ] || die "COPY . /app did not run again"

say "Running the rebuilt goals:latest"
mk run -d --rm -p 3000:80 --name goals goals:latest
fetch http://127.0.0.1:3000/ "<h1>Course Goals!</h1>"
mk stop goals >/dev/null

# --- sharing through a registry ----------------------------------------------
say "Starting a registry on 127.0.0.1 (docker-registry) and pushing goals:latest to it"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOY
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOY
env -u REGISTRY_HTTP_ADDR docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null || { tail -5 "$work/registry.log"; die "the registry did not start"; }
remote=127.0.0.1:$port/goals:latest
mk tag goals:latest "$remote"
t0=$(now)
mk push "$remote" | tee "$work/push.log" || die "pushing $remote"
push_s=$(elapsed "$t0" "$(now)")
pushed=$(sed -n 's/^latest: digest: \(sha256:[0-9a-f]*\) size.*/\1/p' "$work/push.log")
[ -n "$pushed" ] || die "push printed no digest"

say "Pulling $remote into a second, empty store and running it from there"
t0=$(now)
MKIMAGE_ROOT=$work/store2 mk pull "$remote" | tee "$work/pull.log" || die "pulling $remote"
pull_s=$(elapsed "$t0" "$(now)")
grep -q "^Digest: $pushed" "$work/pull.log" || die "the pulled digest is not the pushed one ($pushed)"
[ "$(MKIMAGE_ROOT=$work/store2 mk image inspect -f '{{.Id}}' "$remote")" = "$(mk image inspect -f '{{.Id}}' goals:latest)" ] ||
  die "the pulled image has another image ID than goals:latest"
MKIMAGE_ROOT=$work/store2 mk run -d --rm -p 3001:80 --name goals2 "$remote"
fetch http://127.0.0.1:3001/ "<h1>Course Goals!</h1>"
MKIMAGE_ROOT=$work/store2 mk stop goals2 >/dev/null

cat <<EOT

==> Summary
  bases: ${bases}
  goals:latest cold build (--no-cache):         ${cold}s
  rebuild after editing server.js:              ${warm}s
    COPY package.json /app   ${copy_pkg}
    RUN npm install          ${npm_install}
    COPY . /app              ${copy_all}
  page before the edit: <h1>Course Goals</h1>; after: <h1>Course Goals!</h1>
  push to a local registry:                     ${push_s}s  (${pushed})
  pull into an empty store, same image ID:      ${pull_s}s  (page answered from the second store)
demo: ok
EOT
