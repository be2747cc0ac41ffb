"""The latency of GET /v1/recommendations, one client, requests one after another.

Usage: python3 load/recs_latency.py BASE_URL SEGUE_DB REQUESTS
(BENCHMARKS.md, "Recommendations served"). Needs `requests` (the spotipy virtualenv of
scripts/test.sh has it). Each request seeds with one track drawn (seeded) from the server's
catalog, read from its SQLite store, and asks for 20 tracks; the first 50 are warm-up. Latency
is from the request sent to the answer read, in µs, over a keep-alive connection.
"""

import random
import sqlite3
import sys
import time

import requests


def main():
    base, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session = requests.Session()
    account = {"username": "recs-bench", "password": "recs-bench-password"}
    reply = session.post(base + "/v1/auth/register", json=account)
    if reply.status_code != 201:
        reply = session.post(base + "/v1/auth/login", json=account)
    headers = {"Authorization": "Bearer " + reply.json()["access_token"]}
    tracks = [row[0] for row in sqlite3.connect(db).execute("SELECT id FROM tracks ORDER BY id")]
    rng = random.Random(1)
    latencies = []
    for i in range(n + 50):
        seed = rng.choice(tracks)
        started = time.perf_counter()
        reply = session.get(f"{base}/v1/recommendations?seed_tracks={seed}&limit=20", headers=headers)
        micros = (time.perf_counter() - started) * 1e6
        assert reply.status_code == 200 and len(reply.json()["tracks"]) == 20, reply.text
        if i >= 50:
            latencies.append(micros)
    latencies.sort()
    at = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"{len(latencies)} requests: p50 {at(0.5):.0f} µs, p99 {at(0.99):.0f} µs, max {latencies[-1]:.0f} µs")


if __name__ == "__main__":
    main()
