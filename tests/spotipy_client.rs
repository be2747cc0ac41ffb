//! A third-party client against Segue: spotipy (the Python Web API client, 2.26), unchanged,
//! pointed at the server, through its playlist calls (create, add, reorder, remove, replace,
//! details; a stale snapshot) and its recommendation calls (`recommendations` with seeds and
//! tunable attributes, `recommendation_genre_seeds`). `scripts/test.sh` installs it in a virtualenv and names its
//! Python in `SEGUE_TEST_PYTHON`; without it the test says so and passes, except under CI, where
//! its absence is a failure.

mod common;

use std::process::Command;

use common::*;

/// The Python with spotipy, or `None` (the test is skipped, except under CI).
fn python() -> Option<std::ffi::OsString> {
    let python = std::env::var_os("SEGUE_TEST_PYTHON");
    if python.is_none() {
        assert!(std::env::var_os("CI").is_none(), "under CI, scripts/test.sh provides spotipy (SEGUE_TEST_PYTHON)");
        eprintln!("spotipy_client: SEGUE_TEST_PYTHON is not set (scripts/test.sh sets it); skipped");
    }
    python
}

#[test]
fn spotipy_recommendation_calls_pass_unchanged() {
    let Some(python) = python() else { return };
    let server = TestServer::start(&[]);
    let (_, token) = server.register("snake-recs");
    let tracks = server.track_ids(&token, 1);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/spotipy/recommendations.py");
    let out =
        Command::new(python).arg(script).arg(&server.base).arg(&token).arg(&tracks[0]).output().expect("python runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.trim_end().ends_with("ok"), "spotipy failed:\n{stdout}\n{stderr}");
}

#[test]
fn spotipy_playlist_calls_pass_unchanged() {
    let Some(python) = python() else { return };
    let server = TestServer::start(&[]);
    let (user_id, token) = server.register("snake");
    let tracks = server.track_ids(&token, 5);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/spotipy/playlists.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&server.base)
        .arg(&token)
        .arg(&user_id)
        .args(&tracks)
        .output()
        .expect("python runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.trim_end().ends_with("ok"), "spotipy failed:\n{stdout}\n{stderr}");
}
