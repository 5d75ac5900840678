#!/usr/bin/env bash
# Installs what the lab needs and this machine lacks. Safe to run again: each
# step checks first and skips what is already there.
#
#   scripts/setup.sh          what `./lab run` needs (wasm32 target, trunk, wasm-bindgen)
#   scripts/setup.sh --tests  that, plus what `./lab test` needs (Chromium, npm packages,
#                             a Python virtual environment with grpcio)
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf '==> %s\n' "$*"; }
fail() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

for_tests=false
case "${1:-}" in
  --tests) for_tests=true ;;
  "") ;;
  *) fail "unknown option $1 (use --tests, or nothing)" ;;
esac

command -v cargo >/dev/null || fail "cargo not found: install Rust with rustup (https://rustup.rs) first"
command -v rustup >/dev/null || fail "rustup not found: the wasm32 target is added with rustup"

# 1. The compile target for the browser.
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "wasm32-unknown-unknown target: present"
else
  say "wasm32-unknown-unknown target: adding"
  rustup target add wasm32-unknown-unknown
fi

# 2. Trunk, which builds and serves the page. 0.22 needs a newer rustc than ours.
if command -v trunk >/dev/null && [ "$(trunk --version)" = "trunk $TRUNK_VERSION" ]; then
  say "trunk $TRUNK_VERSION: present"
else
  say "trunk $TRUNK_VERSION: installing with cargo (about 17 minutes on 2 cores, once)"
  cargo install --locked trunk --version "$TRUNK_VERSION"
fi

# 3. wasm-bindgen, at exactly the version Cargo.lock resolves: Trunk refuses a
#    mismatch (and cannot download one here, so we run it --offline).
#    Not --locked: one of its locked dependencies is gone from the registry.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$bindgen_version" ] || fail "cannot find wasm-bindgen's version in Cargo.lock"
if command -v wasm-bindgen >/dev/null && [ "$(wasm-bindgen --version)" = "wasm-bindgen $bindgen_version" ]; then
  say "wasm-bindgen $bindgen_version: present"
else
  say "wasm-bindgen-cli $bindgen_version: installing with cargo (a few minutes, once)"
  cargo install --force wasm-bindgen-cli --version "$bindgen_version"
fi

$for_tests || exit 0

# 4. Chromium for the browser tests (Debian's package; test tools cannot
#    download their own browser here).
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  say "chromium and chromedriver: present"
else
  command -v apt-get >/dev/null || fail "Chromium is missing and there is no apt-get: install chromium and chromium-driver, then run this again"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "installing Chromium needs root: run 'apt-get install chromium chromium-driver' as root"
    sudo="sudo"
  fi
  say "chromium and chromium-driver: installing with apt-get"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver
fi

# 5. The browser tests' npm packages, exactly as package-lock.json pins them.
command -v npm >/dev/null || fail "npm not found: install Node.js 18 or newer"
if [ -f e2e/node_modules/.package-lock.json ] && [ e2e/node_modules/.package-lock.json -nt e2e/package-lock.json ]; then
  say "e2e npm packages: present"
else
  say "e2e npm packages: installing with npm ci"
  (cd e2e && npm ci --no-audit --no-fund)
fi

# 6. A stock Python gRPC client for the interop tests and the course's
#    starter kit (starter/python), in one virtual environment, exactly as
#    their requirements.txt files pin it.
venv=interop/python/.venv
requirements=(interop/python/requirements.txt starter/python/requirements.txt)
if [ -x "$venv/bin/python" ] && cat "${requirements[@]}" | cmp -s - "$venv/requirements.installed"; then
  say "python grpcio client (interop/python/.venv): present"
else
  command -v python3 >/dev/null || fail "python3 not found: install Python 3.10 or newer"
  say "python grpcio client: creating interop/python/.venv and installing ${requirements[*]}"
  python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "${requirements[0]}" -r "${requirements[1]}"
  cat "${requirements[@]}" >"$venv/requirements.installed"
fi
