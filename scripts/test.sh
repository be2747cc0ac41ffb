#!/usr/bin/env bash
# Runs the whole test suite: unit and property tests, the decoder fuzz properties, and the
# integration tests that start real `segue` processes and talk to them over real sockets.
# It needs nothing but the Rust toolchain; the embedded setup (SQLite) is all the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --locked "$@"
