#!/usr/bin/env bash
# The page's download size: builds the release page (the size-optimised
# `wasm-release` profile, exactly what `./lab run` serves) and reports the
# WebAssembly module's size, raw and gzipped, against its budget.
# Exits 1 when the module is over budget; `./lab test` runs it as a step.
#
# The budget: 300 KiB gzipped for the page as it was before the 2026-11-30
# round (plots and lessons: 299 KiB), plus at most 40 KiB for that round's
# features, each measured (README, "The lab page"). A student feels the
# wait, not the bytes: served compressed by the lab server (./lab class),
# the page is interactive in about 0.9 s on Chrome's "Fast 4G" profile and
# 2.9 s on its "Slow 4G" (1.95 s at Slow 4G's nominal 150 ms and 1.6 Mbit/s;
# `npm --prefix e2e run bench:page-load`). Raise it only with a measured reason.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_COLOR:-}" ] && export NO_COLOR=true # trunk wants true/false
budget=$((340 * 1024))
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
