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
for p in hyperfine wrk; do
  if [[ ! -x $dir/root/usr/bin/$p ]]; then
    (cd "$dir/debs" && { ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -qq "$p" 2>/dev/null || { apt-get update -qq >/dev/null && apt-get download -qq "$p"; }; })
    dpkg -x "$dir/debs/${p}"_*.deb "$dir/root"
  fi
  echo "$dir/root/usr/bin/$p"
done
