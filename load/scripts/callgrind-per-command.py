#!/usr/bin/env python3
"""Where a command's user-space instructions go: the per-function difference of two callgrind
profiles of one server (the 10 s and 30 s runs of instructions-per-command.sh), divided by the
difference in commands, grouped by library.

    python3 load/scripts/callgrind-per-command.py target/callgrind/new-10.out target/callgrind/new-30.out 2000
"""
import collections
import re
import subprocess
import sys

GROUPS = [
    ('argon2', 'argon2 (logins; cancels out)'), ('sqlite3', 'SQLite'), ('wal', 'SQLite'),
    ('Vdbe', 'SQLite'), ('pcache', 'SQLite'), ('btree', 'SQLite'), ('sqlx', 'sqlx'),
    ('rmp', 'MessagePack (rmp, rmp-serde)'), ('memset', 'memset'), ('memcpy', 'memcpy/memmove'),
    ('memmove', 'memcpy/memmove'), ('mi_', 'allocator (mimalloc)'), ('tungstenite', 'tungstenite'),
    ('tokio', 'tokio'), ('actix', 'actix'), ('tracing', 'tracing'), ('serde', 'serde'),
    ('segue::player', 'the state machine'), ('segue_protocol', 'protocol types'),
    ('segue::', 'segue (other)'), ('hashbrown', 'hash maps'), ('prometheus', 'metrics'),
    ('core::', 'core/std'), ('alloc::', 'core/std'), ('std::', 'core/std'),
]


def self_costs(path):
    out = subprocess.run(['callgrind_annotate', '--inclusive=no', '--threshold=100', '--auto=no', path],
                         capture_output=True, text=True, check=True).stdout
    costs, started = collections.Counter(), False
    for line in out.splitlines():
        if 'file:function' in line:
            started = True
            continue
        match = re.match(r'\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$', line) if started else None
        if match:
            name = match.group(2).split(':', 1)[-1]
            costs[re.sub(r'\s*\[.*\]$', '', name)] += int(match.group(1).replace(',', ''))
    return costs


def main():
    short, long, commands = self_costs(sys.argv[1]), self_costs(sys.argv[2]), int(sys.argv[3])
    diff = {name: long[name] - short.get(name, 0) for name in set(short) | set(long)}
    print(f'{sum(diff.values()) / commands:9.0f}  instructions per command')
    groups = collections.Counter()
    for name, cost in diff.items():
        groups[next((group for key, group in GROUPS if key in name), 'other')] += cost
    for group, cost in groups.most_common():
        print(f'{cost / commands:9.0f}  {group}')
    print()
    for name, cost in sorted(diff.items(), key=lambda item: -item[1])[:25]:
        print(f'{cost / commands:9.0f}  {name[:140]}')


if __name__ == '__main__':
    main()
