#!/usr/bin/env bash
# Runs every check of the lab, the same way on a laptop and in CI:
# formatting, clippy (native and wasm32), the native tests (unit and
# integration over real sockets), the wasm32 build, and the browser tests in
# headless Chromium, and the page's download size against its budget.
# Installs whatever is missing first (scripts/setup.sh --tests).
#
# Every step runs even if an earlier one failed, so one run shows everything;
# the summary at the end lists each step and counts the tests.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
[ -n "${NO_COLOR:-}" ] && export NO_COLOR=true # trunk wants true/false
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/setup.sh --tests || { echo "error: set-up failed, nothing was tested" >&2; exit 1; }

# A fresh clone builds the workspace from nothing: native debug, wasm32 and the
# page, 5.9 GB in target/ (measured). Incremental compilation only pays when
# the same tree is built again, so a CI run (CI=true, always a fresh clone)
# goes without its caches, which add several GB more. When the disk is short, every cargo step
# fails with "No space left on device" deep in its log; say it here, first.
[ -n "${CI:-}" ] && export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
free_kib=$(df -Pk "$target_dir" | awk 'NR == 2 { print $4 }')
need_kib=$((10 * 1024 * 1024))
if [ -n "$free_kib" ] && [ "$free_kib" -lt "$need_kib" ]; then
  echo "warning: only $((free_kib / 1024 / 1024)) GB free where cargo builds ($target_dir);" \
    "a run from a cold start fills about 6 GB; 10 GB free leaves room for the tools it installs. Builds may fail with 'No space left on device'." >&2
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
results=()
passed_tests=0
failed_tests=0
failed_steps=0

# step NAME COMMAND...: runs one check, shows its output, records the outcome
# and the test counts it reports.
step() {
  local name=$1
  shift
  local log="$logs/$(echo "$name" | tr -c 'a-z0-9' '-').log"
  echo
  echo "==> $name"
  local started=$SECONDS
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local took=$((SECONDS - started))
  # cargo test: "test result: ok. 12 passed; 0 failed; ..."; node --test: "# pass 5" / "# fail 0";
  # pytest: "6 passed in 0.46s" / "1 failed, 5 passed in ...".
  local p f
  p=$(grep -hoE '^test result: .* ([0-9]+) passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -hoE '; ([0-9]+) failed' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  p=$((p + $(grep -hoE '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')))
  f=$((f + $(grep -hoE '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')))
  if grep -qE '^(=+ )?[0-9]+ (passed|failed).* in [0-9.]+s' "$log"; then
    local summary
    summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed).* in [0-9.]+s' "$log" | tail -n 1)
    p=$((p + $(echo "$summary" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')))
    f=$((f + $(echo "$summary" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')))
  fi
  passed_tests=$((passed_tests + p))
  failed_tests=$((failed_tests + f))
  local counts=""
  [ $((p + f)) -gt 0 ] && counts=" ($p tests passed, $f failed)"
  if [ "$status" -eq 0 ]; then
    results+=("  ok    $name${counts}, ${took}s")
  else
    results+=("  FAIL  $name${counts}, ${took}s")
    failed_steps=$((failed_steps + 1))
  fi
}

step "format (cargo fmt --check)" cargo fmt --all --check
step "clippy, native" cargo clippy --workspace --all-targets --locked -- -D warnings
step "clippy, wasm32" cargo clippy -p rpc-lab -p rpc-lab-web --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
step "native tests (unit, and integration over real sockets)" cargo test --workspace --locked --no-fail-fast
step "wasm32 tests in headless Chromium (wasm-bindgen-test)" env CHROMEDRIVER=/usr/bin/chromedriver cargo test -p rpc-lab --target wasm32-unknown-unknown --test web_clock --test number_format --locked
step "server build for the interop and browser tests" cargo build -p rpc-lab-server --locked
step "interop: a stock Python grpcio client against the real server" interop/python/.venv/bin/python -m pytest -q -p no:cacheprovider interop/python
step "starter kit: the course's Python client and its solution against the real server" interop/python/.venv/bin/python -m pytest -q -p no:cacheprovider starter/python/tests
step "browser tests (headless Chromium, real server, trunk serve)" npm --prefix e2e test
step "the page's download size (gzipped wasm) within its budget" scripts/wasm-size.sh

echo
echo "==> summary"
printf '%s\n' "${results[@]}"
echo "  screenshots from the browser tests: e2e/artifacts/"
echo
echo "tests: $passed_tests passed, $failed_tests failed"
echo "disk: $(df -Ph "$target_dir" | awk 'NR == 2 { print $4 }') free where cargo builds, target/ holds $(du -sh "$target_dir" 2>/dev/null | cut -f1)"
if [ "$failed_steps" -gt 0 ]; then
  echo "FAILED: $failed_steps step(s) failed"
  exit 1
fi
echo "ALL CHECKS PASSED"
