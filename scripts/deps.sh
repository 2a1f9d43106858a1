#!/usr/bin/env bash
# Installs what mkimage needs to build and test, from Debian packages (idempotent,
# quiet). Run as root on Debian 12. Packages already present are not reinstalled.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libarchive-dev nettle-dev libsqlite3-dev libfmt-dev doctest-dev nlohmann-json3-dev
  libcurl4-openssl-dev libcli11-dev libzstd-dev zlib1g-dev libisal-dev
  # install and package: the man page (go-md2man), the .deb's shared-library
  # dependencies (dpkg-shlibdeps in dpkg-dev), `man -l` in the install test
  go-md2man dpkg-dev man-db
  # run: OCI runtime for RUN steps and `mkimage run`; the seccomp profile of
  # RUN steps (/usr/share/containers/seccomp.json); slirp4netns, the
  # user-space network stack of RUN steps' private networks; ssh-agent and
  # ssh-add for `--ssh ID=KEYFILE` (and ssh-keygen for its tests); tini
  # (tini-static) as the init of `mkimage run --init`
  runc golang-github-containers-common slirp4netns openssh-client tini
  # tests: static busybox base, interop peers
  busybox-static skopeo umoci python3 curl zstd file jq
  # tests: registry interop peers (tests start private daemons of their own)
  docker.io podman
  # tests: registry client (throwaway registry, htpasswd, keys for token auth)
  docker-registry apache2-utils openssl
  # tests: fuzz targets (scripts/fuzz.sh: clang with libFuzzer and the sanitizers)
  clang libclang-rt-14-dev
)
if [ "${MKIMAGE_DEPS_DEMO:-}" = 1 ]; then
  packages+=(debootstrap ca-certificates)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # docker-registry's and docker.io's postinst enable (and, under systemd, start)
  # system services; tests start private registries and daemons of their own.
  if command -v systemctl >/dev/null; then
    for unit in docker-registry.service docker.socket docker.service containerd.service; do
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
fi
