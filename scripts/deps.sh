#!/usr/bin/env bash
# Installs what mkimage needs to build and test, from Debian packages (idempotent,
# quiet). Run as root on Debian 12. Packages already present are not reinstalled.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libarchive-dev nettle-dev libsqlite3-dev libfmt-dev doctest-dev nlohmann-json3-dev
  libcurl4-openssl-dev libcli11-dev libzstd-dev zlib1g-dev
  # run: OCI runtime for RUN steps and `mkimage run`
  runc
  # tests: static busybox base, interop peers
  busybox-static skopeo umoci python3 curl zstd file
  # tests: registry client (throwaway registry, htpasswd, keys for token auth)
  docker-registry apache2-utils openssl
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
fi
