#!/usr/bin/env bash
# Real peers for the test suite, from Debian's trixie/sid suites, unpacked (never
# installed: their dependencies would upgrade this machine's libc) into a
# git-ignored folder. Idempotent; prints where each peer is.
#
#   scripts/peers.sh            download and unpack what is missing
#   scripts/peers.sh --env      print `export PATH=...` lines for a shell to eval
#
# The archive address is read from the machine's own apt sources, so nothing in
# this repository names a host. Layout under .peers/ (override with SIGWARD_PEERS):
#   root/   the unpacked packages
#   bin/    cosign, ctr, containerd, crane, oras, notation, skopeo,
#           sigstore-go-verification wrappers
#   apt/    private apt lists and cache
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
peers=${SIGWARD_PEERS:-$here/.peers}
root=$peers/root
bin=$peers/bin
apt=$peers/apt

if [[ ${1:-} == --env ]]; then
  echo "export PATH=\"$bin:\$PATH\""
  echo "export SIGWARD_PEERS_BIN=\"$bin\""
  exit 0
fi

# package -> the binaries in it that tests run
packages=(
  cosign containerd crane oras notation sigstore-go
  python3-tuf python3-securesystemslib
  skopeo libc6 libgpgme45 libassuan9 libgpg-error0 libsqlite3-0
)
stamp=$peers/.stamp-v1
if [[ -f $stamp ]]; then
  echo "peers: up to date in $peers"
  exit 0
fi

sources=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
uri=""
if [[ -n $sources ]]; then
  uri=$(awk '/^URIs:/{print $2; exit}' "$sources")
fi
if [[ -z $uri ]]; then
  uri=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
fi
[[ -n $uri ]] || { echo "peers: no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list" >&2; exit 1; }

mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial" "$root" "$bin"
cat >"$apt/parts/peers.sources" <<SRC
Types: deb
URIs: $uri
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/parts"
  -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1)
echo "peers: apt-get update (trixie, sid)"
apt-get "${opts[@]}" update -qq >/dev/null
mkdir -p "$apt/debs"
(
  cd "$apt/debs"
  for p in "${packages[@]}"; do
    ls "${p}"_*.deb >/dev/null 2>&1 || apt-get "${opts[@]}" download -qq "$p/sid" 2>/dev/null || apt-get "${opts[@]}" download -qq "$p"
  done
)
for deb in "$apt"/debs/*.deb; do dpkg -x "$deb" "$root"; done

# Go binaries run as they are; skopeo needs sid's libc, through sid's loader.
for b in cosign containerd ctr crane oras notation sigstore-go-verification sigstore-go-signing oci-image-verification containerd-shim-runc-v2; do
  if [[ -x $root/usr/bin/$b ]]; then ln -sf "$root/usr/bin/$b" "$bin/$b"; fi
done
libpath="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"
loader=$root/usr/lib64/ld-linux-x86-64.so.2
[[ -e $loader ]] || loader=$root/lib64/ld-linux-x86-64.so.2
cat >"$bin/skopeo" <<SH
#!/bin/sh
exec "$loader" --library-path "$libpath" "$root/usr/bin/skopeo" "\$@"
SH
chmod +x "$bin/skopeo"
cat >"$bin/peers-python3" <<SH
#!/bin/sh
PYTHONPATH="$root/usr/lib/python3/dist-packages\${PYTHONPATH:+:\$PYTHONPATH}" exec /usr/bin/python3 "\$@"
SH
chmod +x "$bin/peers-python3"

touch "$stamp"
echo "peers: unpacked into $root"
for b in cosign ctr containerd crane oras notation skopeo sigstore-go-verification; do
  if [[ -x $bin/$b ]]; then printf '  %-26s %s\n' "$b" "$bin/$b"; else printf '  %-26s MISSING\n' "$b"; fi
done
