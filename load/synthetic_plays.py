"""Listening histories for the recommendation benchmark (BENCHMARKS.md, "Recommendations served").

Usage: python3 load/synthetic_plays.py SEGUE_DB USERS PLAYS_PER_USER [SEED]

Writes counted plays straight into a stopped server's SQLite store (`segue.db` under its data
dir), as if USERS listeners had each played PLAYS_PER_USER tracks: each listener keeps to one
genre and picks its tracks with Zipf-like weights over the genre's 2,000 most popular, so that
tracks co-occur the way tastes cluster. Seeded: the same arguments write the same plays.
"""

import random
import sqlite3
import sys


def main():
    path, users, per_user = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    db = sqlite3.connect(path)
    by_genre = {}
    rows = db.execute(
        "SELECT t.id, ar.genres FROM tracks t JOIN artists ar ON ar.id = t.artist_id ORDER BY t.popularity DESC, t.id"
    )
    for track, genres in rows:
        genre = (genres or "").split(",")[0]
        by_genre.setdefault(genre, []).append(track)
    genres = sorted(by_genre)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(2000)]
    plays = []
    for user in range(users):
        pool = by_genre[rng.choice(genres)][:2000]
        picked = set(rng.choices(pool, weights=weights[: len(pool)], k=per_user))
        for k, track in enumerate(sorted(picked)):
            at = 1_700_000_000_000 + user * 1_000_000 + k * 1_000
            plays.append((f"bench:{user}:{k}", f"{user:022d}", track, at, 31_000, at))
    db.executemany(
        "INSERT OR IGNORE INTO plays (id, user_id, track_id, context_uri, played_at_ms, ms_played, end_reason,"
        " private, counted_at_ms, event_pending) VALUES (?, ?, ?, NULL, ?, ?, 'track_done', 0, ?, 0)",
        plays,
    )
    db.commit()
    print(f"{len(plays)} plays by {users} listeners over {len(genres)} genres")


if __name__ == "__main__":
    main()
