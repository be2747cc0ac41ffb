#!/usr/bin/env bash
# Runs the whole test suite: unit and property tests, the decoder fuzz properties, the store
# suite on SQLite and PostgreSQL, and the integration tests that start real `segue` processes
# and talk to them over real sockets, cluster nodes included. It needs the Rust toolchain;
# PostgreSQL it starts (and on a machine without it, installs from Debian's packages) when it is
# not already running. SEGUE_TEST_POSTGRES_URL points the tests at another PostgreSQL instead.
# The cluster tests start Redis servers of their own (`redis-server`, installed from Debian's
# packages when missing; SEGUE_TEST_REDIS_SERVER names another binary), the play-event tests
# NATS servers with JetStream (`nats-server`, likewise). spotipy it installs from
# PyPI into a virtualenv under target/ (Debian's python3-venv first, when missing). The web
# player test drives Debian's `chromium` (installed when /usr/bin/chromium is missing;
# SEGUE_TEST_CHROMIUM names another) with playwright-core from npm, installed by `npm ci` into
# tests/web/node_modules (Debian's `nodejs` and `npm` first, when node or npm is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

postgres_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -h 127.0.0.1 -p 5432 -q
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

ensure_postgres() {
    [ -n "${SEGUE_TEST_POSTGRES_URL:-}" ] && return 0
    postgres_ready && return 0
    if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then
        echo "test.sh: PostgreSQL is not installed; installing Debian's package" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    local version hba
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    # The tests connect over TCP as `postgres` without a password.
    if ! as_root grep -q "segue-tests" "$hba"; then
        as_root sed -i '1i host all postgres 127.0.0.1/32 trust # segue-tests' "$hba"
    fi
    echo "test.sh: starting PostgreSQL $version" >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 120); do
        postgres_ready && return 0
        sleep 0.5
    done
    echo "test.sh: PostgreSQL did not start on 127.0.0.1:5432" >&2
    exit 1
}

ensure_redis_server() {
    [ -n "${SEGUE_TEST_REDIS_SERVER:-}" ] && return 0
    command -v redis-server >/dev/null 2>&1 && return 0
    echo "test.sh: redis-server is not installed; installing Debian's package" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

# nats-server (JetStream) for tests/play_events.rs, which starts servers of its own on free
# ports; Debian's package puts it in /usr/sbin. SEGUE_TEST_NATS_SERVER names another binary.
ensure_nats_server() {
    [ -n "${SEGUE_TEST_NATS_SERVER:-}" ] && return 0
    command -v nats-server >/dev/null 2>&1 && return 0
    [ -x /usr/sbin/nats-server ] && return 0
    echo "test.sh: nats-server is not installed; installing Debian's package" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
}

# spotipy (the Python Web API client) for tests/spotipy_client.rs: a virtualenv under target/
# with spotipy 2.26 from PyPI; Debian's python3-venv is installed first when venv is missing.
ensure_spotipy() {
    [ -n "${SEGUE_TEST_PYTHON:-}" ] && return 0
    local venv=target/spotipy-venv
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import spotipy' 2>/dev/null; then
        if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 \
            || ! python3 -c 'import ensurepip' 2>/dev/null; then
            echo "test.sh: python3 with venv is missing; installing Debian's python3-venv" >&2
            as_root apt-get update -qq
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
        fi
        rm -rf "$venv"
        python3 -m venv "$venv"
        echo "test.sh: installing spotipy 2.26.0 into $venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check 'spotipy==2.26.0'
    fi
    export SEGUE_TEST_PYTHON="$PWD/$venv/bin/python"
}

# Chromium for tests/web_player.rs: Debian's package, never a browser download by Playwright.
ensure_chromium() {
    if [ -n "${SEGUE_TEST_CHROMIUM:-}" ]; then
        export SEGUE_TEST_CHROMIUM
        return 0
    fi
    if [ ! -x /usr/bin/chromium ]; then
        echo "test.sh: chromium is not installed; installing Debian's package" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    export SEGUE_TEST_CHROMIUM=/usr/bin/chromium
}

# Node and tests/web/node_modules (playwright-core, ws and @msgpack/msgpack, pinned by package-lock.json) for the
# web player test: `npm ci` when node_modules is missing or older than the lock file.
ensure_web_test_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "test.sh: node or npm is missing; installing Debian's nodejs and npm" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    fi
    local modules=tests/web/node_modules
    if [ ! -f "$modules/.package-lock.json" ] || [ tests/web/package-lock.json -nt "$modules/.package-lock.json" ]; then
        echo "test.sh: installing the web player test's npm packages into $modules" >&2
        (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

ensure_postgres
ensure_redis_server
ensure_nats_server
ensure_spotipy
ensure_chromium
ensure_web_test_node
exec cargo test --workspace --locked "$@"
