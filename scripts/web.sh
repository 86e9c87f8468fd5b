#!/usr/bin/env bash
# wgpu-rnn in the browser (WebGPU through wasm32):
#   scripts/web.sh setup         install what the rest needs: chromium, chromium-driver (apt), the
#                                wasm32 target, wasm-bindgen-cli at the version in Cargo.lock
#   scripts/web.sh test          the browser tests (tests/browser.rs) in headless Chromium on WebGPU
#   scripts/web.sh build DIR     the demo page (web/) as a static site in DIR
#   scripts/web.sh serve PORT    build it into target/web-site and serve it on 127.0.0.1:PORT
#   scripts/web.sh check [PNG]   build, serve, open in headless Chromium with WebGPU, wait until the
#                                page's #result is filled, print it (and save a screenshot to PNG)
# Browser runs are bounded by an outer timeout, in a session of their own whose leftovers
# (chromedriver, Chromium) are ended by session id.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=wasm32-unknown-unknown
CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

# The wasm-bindgen version Cargo.lock holds: the CLI must be exactly that.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

need() {
  local version
  version=$(wasm_bindgen_version)
  if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    echo "web.sh: $CHROMIUM or $CHROMEDRIVER missing: run scripts/web.sh setup" >&2; exit 1
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
    echo "web.sh: wasm-bindgen $version missing: run scripts/web.sh setup" >&2; exit 1
  fi
}

setup() {
  if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  rustup target add "$TARGET"
  local version
  version=$(wasm_bindgen_version)
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $version" ]; then
    # Not --locked: a version its lock file pins is gone from the registry.
    cargo install wasm-bindgen-cli --version "$version"
  fi
}

# bounded SECONDS CMD...: runs CMD under `timeout` in a session of its own, then ends what it left
# behind in that session; returns CMD's status (124 on timeout).
bounded() {
  local limit=$1; shift
  setsid timeout --kill-after=10 "$limit" "$@" &
  local sid=$! rc=0
  wait "$sid" || rc=$?
  pkill -KILL -s "$sid" 2>/dev/null || true
  if [ "$rc" = 124 ]; then echo "web.sh: '$*' did not finish within $limit s" >&2; fi
  return "$rc"
}

browser_tests() {
  need
  cargo test --release --no-default-features --target "$TARGET" --test browser --no-run
  # webdriver.json (beside Cargo.toml) gives Chromium and its flags (--enable-unsafe-webgpu).
  CHROMEDRIVER=$CHROMEDRIVER WASM_BINDGEN_TEST_TIMEOUT=600 bounded 900 \
    cargo test --release --no-default-features --target "$TARGET" --test browser -- --nocapture
}

case "${1:-}" in
  setup) setup ;;
  test) browser_tests ;;
  *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
