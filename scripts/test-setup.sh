#!/usr/bin/env bash
# What the test suite needs besides node_modules, installed before any test
# runs (`npm test` calls this first; so does .ci/run through npm test):
#   - Debian packages: docker-registry (the real registry the end-to-end tests
#     push to), skopeo, htpasswd (apache2-utils), openssl, kubectl
#     (kubernetes-client, only when no kubectl is on PATH: a kubectl from
#     another source conflicts with Debian's package);
#   - python3 with python3-cryptography (Debian's own, for the unpacked
#     python3-tuf peer that builds the TUF test repository);
#   - the real peers (cosign, containerd, notation, ...) from scripts/peers.sh.
# As root with apt-get, missing packages are installed; otherwise the script
# says exactly what is missing and how to get it, and fails before any test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need docker-registry docker-registry
need skopeo skopeo
need htpasswd apache2-utils
need openssl openssl
need git git
need kubectl kubernetes-client
# python-tuf (unpacked by scripts/peers.sh) signs with the machine's own python3-cryptography
/usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1 || missing+=(python3-cryptography)

if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "test-setup: installing Debian packages: ${missing[*]}"
    apt-get update </dev/null
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
  else
    echo "test-setup: the tests need these Debian packages, which are missing: ${missing[*]}" >&2
    echo "test-setup: install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
for c in docker-registry skopeo htpasswd openssl kubectl; do
  command -v "$c" >/dev/null 2>&1 || { echo "test-setup: $c is still missing after apt-get install" >&2; exit 1; }
done

if [[ ! -x node_modules/.bin/node ]]; then
  echo "test-setup: node_modules is missing: run \`npm ci\` first (it brings Node 24, esbuild and Deno)" >&2
  exit 1
fi

bash scripts/peers.sh </dev/null
