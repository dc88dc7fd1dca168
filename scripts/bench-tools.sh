#!/usr/bin/env bash
# Benchmark tools from Debian, unpacked (never installed: apt-get install could
# upgrade this machine's libc) into the git-ignored .cache/bench-tools/.
# Idempotent; prints the path of each tool.
#
#   bash scripts/bench-tools.sh        hyperfine (bench/startup.bench.ts), wrk (bench/webhook-wrk.bench.ts)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$here/.cache/bench-tools
mkdir -p "$dir/debs" "$dir/root"
fetch() { # PKG: the .deb in debs/, unpacked into root/
  (cd "$dir/debs" && { ls "${1}"_*.deb >/dev/null 2>&1 || apt-get download -qq "$1" 2>/dev/null || { apt-get update -qq >/dev/null && apt-get download -qq "$1"; }; })
  dpkg -x "$dir/debs/${1}"_*.deb "$dir/root"
}
# wrk links LuaJIT, which a fresh machine does not have: its library goes beside it
# (bench/webhook-wrk.bench.ts runs wrk with root/usr/lib/* on LD_LIBRARY_PATH)
if ! ls "$dir/root/usr/lib/"*/libluajit-5.1.so.2 >/dev/null 2>&1; then fetch libluajit-5.1-2; fi
for p in hyperfine wrk; do
  if [[ ! -x $dir/root/usr/bin/$p ]]; then fetch "$p"; fi
  echo "$dir/root/usr/bin/$p"
done
