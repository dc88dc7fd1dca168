#!/usr/bin/env bash
# Start-up time of the single executable against bare Node (the same Node 24
# binary it was built from): median of RUNS runs each, plus the binary size.
# Prints a markdown table. Uses hyperfine when installed, else a date loop.
#
#   scripts/measure-startup.sh [BINARY]      (default dist/sigward)
#   RUNS=20 NODE=node_modules/.bin/node scripts/measure-startup.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/dist/sigward}
node=${NODE:-$root/node_modules/.bin/node}
runs=${RUNS:-20}

[[ -x $bin ]] || { echo "measure-startup: $bin not found: run npm run build first" >&2; exit 1; }
[[ -x $node ]] || { echo "measure-startup: $node not found: run npm ci first" >&2; exit 1; }

# Prints "<median ms of A> <median ms of B>" for two commands given as strings
# (word-split, no quoting needed for our paths). One warm-up run each.
# hyperfine when installed; else a date loop that alternates A and B so both
# see the same machine load.
medians_ms() {
  local a=$1 b=$2
  if command -v hyperfine >/dev/null 2>&1; then
    local json
    json=$(mktemp)
    hyperfine --style none -N --warmup 1 --runs "$runs" --export-json "$json" -- "$a" "$b" >/dev/null
    "$node" -e 'const r = require(process.argv[1]).results; console.log(r.map((x) => (x.median * 1000).toFixed(1)).join(" "))' "$json"
    rm -f "$json"
    return
  fi
  $a >/dev/null 2>&1 || { echo "measure-startup: '$a' failed" >&2; return 1; }
  $b >/dev/null 2>&1 || { echo "measure-startup: '$b' failed" >&2; return 1; }
  local ta=() tb=() i t0 t1
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N); $a >/dev/null 2>&1; t1=$(date +%s%N); ta+=($(((t1 - t0) / 1000)))
    t0=$(date +%s%N); $b >/dev/null 2>&1; t1=$(date +%s%N); tb+=($(((t1 - t0) / 1000)))
  done
  echo "$(median_us "${ta[@]}") $(median_us "${tb[@]}")"
}

# median of microsecond values, printed in milliseconds with one decimal
median_us() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}

mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.1f MB", b / 1048576}'; }

node_version=$("$node" --version)
tool=$(command -v hyperfine >/dev/null 2>&1 && echo hyperfine || echo "date loop")
read -r sea_ms node_ms < <(medians_ms "$bin --version" "$node -e 0")
[[ -n ${node_ms:-} ]] || exit 1

echo "Start-up, median of $runs runs ($tool), Node $node_version, $(uname -m), $(nproc) CPU"
echo
echo "| command | median start-up | size |"
echo "|---|---|---|"
echo "| \`$(basename "$bin") --version\` | $sea_ms ms | $(mib "$bin") |"
echo "| \`node -e 0\` (same Node) | $node_ms ms | $(mib "$(readlink -f "$node")") |"
