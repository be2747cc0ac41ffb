#!/usr/bin/env bash
# Instructions the server spends per command, under `valgrind --tool=callgrind` (a count the
# machine's noise cannot move). Two control runs of 10 users x 3 devices at 100 commands/s are
# measured 10 s and 30 s after the same setup; (instructions_30 - instructions_10) /
# (commands_30 - commands_10) cancels the setup (logins, the catalog load).
#
#   load/scripts/instructions-per-command.sh NAME SEGUE_BINARY DATA_DIR [serve flags...]
#
# The data dir is prepared natively first when missing (demo catalog, users). Results and the
# callgrind files go to ${OUT:-target/callgrind}; SEGUE_LOAD names the load generator
# (target/release/segue-load by default).
set -euo pipefail
NAME=$1; BIN=$2; DIR=$3; shift 3
LOAD=${SEGUE_LOAD:-target/release/segue-load}
OUT=${OUT:-target/callgrind}; mkdir -p "$OUT"
PORT=${PORT:-7410}
if [ ! -d "$DIR" ]; then
    "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$DIR" --rate-limit 100000 "$@" >/dev/null 2>&1 & P=$!
    sleep 8
    "$LOAD" control --url http://127.0.0.1:$PORT --users 10 --devices 3 --rate 100 --duration 2 --warmup 1 >/dev/null
    kill $P; wait $P || true
fi
for D in 10 30; do
    valgrind --tool=callgrind --callgrind-out-file="$OUT/$NAME-$D.out" "$BIN" serve --listen 127.0.0.1:$PORT \
        --data-dir "$DIR" --rate-limit 100000 "$@" >"$OUT/$NAME-$D.log" 2>&1 & P=$!
    for _ in $(seq 1 300); do grep -q "http://" "$OUT/$NAME-$D.log" && break; sleep 1; done
    "$LOAD" control --url http://127.0.0.1:$PORT --users 10 --devices 3 --rate 100 --duration $D --warmup 3 \
        --json "$OUT/$NAME-$D.json" >"$OUT/$NAME-$D.txt"
    kill -INT $P; wait $P || true
done
python3 - "$OUT" "$NAME" <<'PY'
import json, sys
out, name = sys.argv[1:]
def instructions(d):
    for line in open(f'{out}/{name}-{d}.out'):
        if line.startswith(('summary:', 'totals:')):
            return int(line.split()[1])
def commands(d):
    return json.load(open(f'{out}/{name}-{d}.json'))['commands']
i10, i30, c10, c30 = instructions(10), instructions(30), commands(10), commands(30)
print(f'{name}: {(i30 - i10) / (c30 - c10):.0f} instructions per command ({i10} / {i30} instructions, {c10} / {c30} commands)')
PY
