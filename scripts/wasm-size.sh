#!/usr/bin/env bash
# The page's download size: builds the release page (the size-optimised
# `wasm-release` profile, exactly what `./lab run` serves) and reports the
# WebAssembly module's size, raw and gzipped, against the 180 KB budget.
# Exits 1 when the module is over budget.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_COLOR:-}" ] && export NO_COLOR=true # trunk wants true/false
budget=$((180 * 1024))
dist="target/wasm-size-dist"
trunk build --release --offline --dist "$dist" >"$dist.log" 2>&1 || { cat "$dist.log"; exit 1; }
wasm=$(ls "$dist"/*.wasm)
js=$(ls "$dist"/*.js)
raw=$(wc -c <"$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js_gz=$(gzip -9 -c "$js" | wc -c)
printf 'wasm: %d bytes raw, %d bytes gzipped (%.1f KB); JS glue %d bytes gzipped\n' \
  "$raw" "$gz" "$(echo "$gz / 1024" | bc -l)" "$js_gz"
printf 'budget: %d bytes gzipped: ' "$budget"
if [ "$gz" -le "$budget" ]; then
  echo "within budget ($((budget - gz)) bytes to spare)"
else
  echo "OVER by $((gz - budget)) bytes"
  exit 1
fi
