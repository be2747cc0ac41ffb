"""Recommendation calls of spotipy, unchanged, against a Segue server.

Usage: python recommendations.py BASE_URL TOKEN TRACK_ID   (run by tests/spotipy_client.rs)
Every call is spotipy's own; the answers are checked against what the Web API would answer.
"""

import sys
import warnings

import spotipy


def main():
    base, token, track = sys.argv[1:4]
    sp = spotipy.Spotify(auth=token, requests_timeout=10, retries=0)
    sp.prefix = base.rstrip("/") + "/v1/"
    # spotipy warns that Spotify removed these endpoints; Segue serves them.
    warnings.simplefilter("ignore", DeprecationWarning)

    genres = sp.recommendation_genre_seeds()["genres"]
    assert len(genres) >= 5 and all(isinstance(g, str) for g in genres), genres

    answer = sp.recommendations(seed_tracks=[track], limit=10)
    ids = [t["id"] for t in answer["tracks"]]
    assert len(ids) == 10 and len(set(ids)) == 10, ids
    assert track not in ids, "never the seed"
    seed = answer["seeds"][0]
    assert seed["id"] == track and seed["type"] == "TRACK", seed
    assert seed["initialPoolSize"] >= seed["afterFilteringSize"] > 0, seed

    tuned = sp.recommendations(
        seed_tracks=["spotify:track:" + track],
        seed_genres=[genres[0]],
        limit=20,
        country="SE",
        min_energy=0.3,
        max_popularity=90,
        target_tempo=120,
    )
    assert [s["type"] for s in tuned["seeds"]] == ["TRACK", "GENRE"], tuned["seeds"]
    assert 0 < len(tuned["tracks"]) <= 20
    assert all(t["popularity"] <= 90 for t in tuned["tracks"]), tuned["tracks"]
    features = sp.audio_features([t["id"] for t in tuned["tracks"]])
    assert all(f["energy"] >= 0.3 for f in features), features

    try:
        sp.recommendations(seed_tracks=[track] * 6)
    except spotipy.SpotifyException as error:
        assert error.http_status == 400, error
    else:
        raise AssertionError("six seeds were accepted")

    print("ok")


if __name__ == "__main__":
    main()
