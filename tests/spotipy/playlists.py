"""Playlist calls of spotipy, unchanged, against a Segue server.

Usage: python playlists.py BASE_URL TOKEN USER_ID TRACK_ID...   (run by tests/spotipy_client.rs)
Every call is spotipy's own; the answers are checked against what the Web API would answer.
"""

import sys

import spotipy


def main():
    base, token, user_id, *tracks = sys.argv[1:]
    assert len(tracks) >= 5, "five track ids"
    sp = spotipy.Spotify(auth=token, requests_timeout=10, retries=0)
    sp.prefix = base.rstrip("/") + "/v1/"

    me = sp.current_user()
    assert me["id"] == user_id, me

    created = sp.user_playlist_create(user_id, "spotipy mix", public=False, collaborative=False, description="made by spotipy")
    pid = created["id"]
    assert created["name"] == "spotipy mix" and created["public"] is False, created

    added = sp.playlist_add_items(pid, tracks[:3])
    assert "snapshot_id" in added, added
    sp.playlist_add_items(pid, [tracks[3]], position=0)

    def order():
        return [item["track"]["id"] for item in sp.playlist_items(pid)["items"]]

    assert order() == [tracks[3], tracks[0], tracks[1], tracks[2]], order()

    reordered = sp.playlist_reorder_items(pid, range_start=0, insert_before=4)
    assert order() == [tracks[0], tracks[1], tracks[2], tracks[3]], order()

    sp.playlist_remove_all_occurrences_of_items(pid, [tracks[1]], snapshot_id=reordered["snapshot_id"])
    assert order() == [tracks[0], tracks[2], tracks[3]], order()

    sp.playlist_add_items(pid, [tracks[0]])
    sp.playlist_remove_specific_occurrences_of_items(pid, [{"uri": tracks[0], "positions": [0]}])
    assert order() == [tracks[2], tracks[3], tracks[0]], order()

    sp.playlist_replace_items(pid, [tracks[4], tracks[2]])
    assert order() == [tracks[4], tracks[2]], order()

    sp.playlist_change_details(pid, name="renamed by spotipy", public=True, collaborative=False, description="new")
    playlist = sp.playlist(pid)
    assert playlist["name"] == "renamed by spotipy" and playlist["public"] is True, playlist
    assert playlist["description"] == "new", playlist
    assert playlist["tracks"]["total"] == 2, playlist["tracks"]

    mine = sp.current_user_playlists(limit=50)
    assert any(p["id"] == pid for p in mine["items"]), mine

    # A stale snapshot with positions is refused as the Web API refuses it.
    try:
        sp.playlist_reorder_items(pid, range_start=0, insert_before=2, snapshot_id=added["snapshot_id"])
    except spotipy.SpotifyException as error:
        assert error.http_status in (400, 409), error
    else:
        raise AssertionError("a reorder against a stale snapshot was accepted")
    assert order() == [tracks[4], tracks[2]], order()
    print("ok")


if __name__ == "__main__":
    main()
