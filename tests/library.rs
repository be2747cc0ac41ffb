//! The library, follows, users and playlists over REST, against a real server on each store
//! (SQLite and PostgreSQL), with the Web API's shapes and clear 4xx answers for bad input.

mod common;

use common::*;
use serde_json::{Value, json};

/// Runs each scenario against a server on SQLite and one on PostgreSQL.
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod on_sqlite { $( #[test] fn $scenario() { super::$scenario(super::Backend::Sqlite); } )* }
        mod on_postgres { $( #[test] fn $scenario() { super::$scenario(super::Backend::Postgres); } )* }
    };
}

on_both_stores!(library_and_follows, catalog_extras, playlists_and_their_privacy);

fn ids(body: &Value, list: &str) -> Vec<String> {
    body[list].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_string()).collect()
}

fn library_and_follows(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (_, token) = server.register("collector");
    let (friend_id, _) = server.register("friend");
    let tracks = server.track_ids(&token, 3);
    let (album_id, _) = server.album(&token);
    let artist_id =
        server.get(&format!("/v1/albums/{album_id}"), &token).body["artists"][0]["id"].as_str().unwrap().to_string();

    // The 2026 form: URIs of any kind in one call, in either scheme.
    let uris = format!(
        "spotify:track:{},segue:track:{},spotify:album:{album_id},spotify:artist:{artist_id},spotify:user:{friend_id}",
        tracks[0], tracks[1]
    );
    let saved = server.request("PUT", &format!("/v1/me/library?uris={uris}"), Some(&token), Some(json!({})));
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let probe = format!(
        "spotify:track:{},spotify:track:{},spotify:album:{album_id},spotify:user:{friend_id}",
        tracks[2], tracks[1]
    );
    let contains = server.get(&format!("/v1/me/library/contains?uris={probe}"), &token);
    assert_eq!(contains.body, json!([false, true, true, true]));

    let liked = server.get("/v1/me/tracks?limit=1", &token);
    assert_eq!((liked.body["total"].as_u64(), liked.body["limit"].as_u64()), (Some(2), Some(1)));
    assert_eq!(liked.body["items"][0]["track"]["id"], tracks[1].as_str(), "the newest save first");
    assert!(liked.body["items"][0]["added_at"].as_str().unwrap().ends_with('Z'));
    assert!(liked.body["next"].as_str().unwrap().starts_with("http://"));
    let albums = server.get("/v1/me/albums", &token);
    assert_eq!(albums.body["items"][0]["album"]["id"], album_id.as_str());
    assert!(albums.body["items"][0]["album"]["tracks"]["items"].as_array().is_some());

    let artists = server.get("/v1/me/following?type=artist", &token);
    assert_eq!(artists.body["artists"]["items"][0]["id"], artist_id.as_str());
    assert_eq!(artists.body["artists"]["total"], 1);
    let users = server.get("/v1/me/following?type=user", &token);
    assert_eq!(users.body["users"]["items"][0]["id"], friend_id.as_str());
    let friend = server.get(&format!("/v1/users/{friend_id}"), &token);
    assert_eq!(
        (friend.body["display_name"].as_str(), friend.body["followers"]["total"].as_u64()),
        (Some("friend"), Some(1))
    );
    assert_eq!(friend.body["type"], "user");

    // The older forms, over the same data.
    let put = server.request("PUT", &format!("/v1/me/tracks?ids={}", tracks[2]), Some(&token), None);
    assert_eq!(put.status, 200);
    let body_form = server.request("DELETE", "/v1/me/tracks", Some(&token), Some(json!({"ids": [tracks[0]]})));
    assert_eq!(body_form.status, 200);
    let contains = server.get(&format!("/v1/me/tracks/contains?ids={},{},{}", tracks[0], tracks[1], tracks[2]), &token);
    assert_eq!(contains.body, json!([false, true, true]));
    let unfollow = server.request("DELETE", &format!("/v1/me/following?type=user&ids={friend_id}"), Some(&token), None);
    assert_eq!(unfollow.status, 204);
    let follows = server.get(&format!("/v1/me/following/contains?type=user&ids={friend_id}"), &token);
    assert_eq!(follows.body, json!([false]));
    let removed =
        server.request("DELETE", &format!("/v1/me/library?uris=spotify:album:{album_id}"), Some(&token), None);
    assert_eq!(removed.status, 200);
    assert_eq!(server.get("/v1/me/albums", &token).body["total"], 0);

    // Bad input: a clear 4xx, and nothing changes.
    let me = server.get("/v1/me", &token).body["id"].as_str().unwrap().to_string();
    let too_many = vec![format!("spotify:track:{}", tracks[0]); 51].join(",");
    for (method, path, status) in [
        ("PUT", "/v1/me/library?uris=spotify:track:0000000000000000000000".to_string(), 404),
        ("PUT", "/v1/me/library?uris=spotify:song:0000000000000000000000".to_string(), 400),
        ("PUT", "/v1/me/library?uris=".to_string(), 400),
        ("PUT", format!("/v1/me/library?uris={too_many}"), 400),
        ("PUT", format!("/v1/me/library?uris=spotify:user:{me}"), 400),
        ("PUT", "/v1/me/tracks".to_string(), 400),
        ("PUT", "/v1/me/following?type=playlist&ids=0000000000000000000000".to_string(), 400),
        ("GET", "/v1/me/following?type=artist&limit=0".to_string(), 400),
        ("GET", "/v1/users/0000000000000000000000".to_string(), 404),
    ] {
        let reply = server.request(method, &path, Some(&token), None);
        assert_eq!(reply.status, status, "{method} {path}: {:?}", reply.body);
        assert!(reply.body["error"]["reason"].is_string());
    }
    assert_eq!(server.get("/v1/me/tracks", &token).body["total"], 2);
    assert_eq!(server.request("GET", "/v1/me/tracks", None, None).status, 401);
}

fn catalog_extras(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (_, token) = server.register("browser");
    let (album_id, album_tracks) = server.album(&token);
    let artist_id =
        server.get(&format!("/v1/albums/{album_id}"), &token).body["artists"][0]["id"].as_str().unwrap().to_string();

    let albums = server.get(&format!("/v1/artists/{artist_id}/albums?limit=50"), &token);
    assert_eq!(albums.status, 200);
    assert!(ids(&albums.body, "items").contains(&album_id));
    let several = server.get(&format!("/v1/albums?ids={album_id},0000000000000000000000"), &token);
    assert_eq!(several.body["albums"][0]["id"], album_id.as_str());
    assert!(several.body["albums"][1].is_null());
    let several = server.get(&format!("/v1/artists?ids={artist_id}"), &token);
    assert_eq!(several.body["artists"][0]["id"], artist_id.as_str());

    let (track, _) = &album_tracks[0];
    let features = server.get(&format!("/v1/audio-features/{track}"), &token);
    assert_eq!(features.status, 200);
    assert_eq!(features.body["type"], "audio_features");
    let tempo = features.body["tempo"].as_f64().unwrap();
    assert!((50.0..=220.0).contains(&tempo), "{tempo}");
    let several = server.get(&format!("/v1/audio-features?ids={track},0000000000000000000000"), &token);
    assert_eq!(several.body["audio_features"][0]["id"], track.as_str());
    assert!(several.body["audio_features"][1].is_null());
    assert_eq!(server.get("/v1/audio-features/0000000000000000000000", &token).status, 404);
}

fn playlists_and_their_privacy(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (owner_id, owner) = server.register("curator");
    let (_, stranger) = server.register("stranger");
    let created = server.request(
        "POST",
        &format!("/v1/users/{owner_id}/playlists"),
        Some(&owner),
        Some(json!({"name": "Night drive", "public": false, "description": "slow"})),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let playlist = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        (created.body["public"].as_bool(), created.body["owner"]["id"].as_str()),
        (Some(false), Some(owner_id.as_str()))
    );
    assert_eq!(created.body["tracks"]["total"], 0);
    assert_eq!(created.body["items"]["total"], 0);
    let public = server.request("POST", "/v1/me/playlists", Some(&owner), Some(json!({"name": "Sunny"})));
    assert_eq!(public.body["public"], true);

    // A private playlist is NOT_FOUND to anyone but its owner, everywhere.
    assert_eq!(server.get(&format!("/v1/playlists/{playlist}"), &owner).status, 200);
    assert_eq!(server.get(&format!("/v1/playlists/{playlist}"), &stranger).status, 404);
    assert_eq!(server.get(&format!("/v1/playlists/{playlist}/items"), &stranger).status, 404);
    let follow = server.request("PUT", &format!("/v1/playlists/{playlist}/followers"), Some(&stranger), None);
    assert_eq!(follow.status, 404);
    let via_library =
        server.request("PUT", &format!("/v1/me/library?uris=spotify:playlist:{playlist}"), Some(&stranger), None);
    assert_eq!(via_library.status, 404);
    let theirs = server.get(&format!("/v1/users/{owner_id}/playlists"), &stranger);
    assert_eq!((theirs.body["total"].as_u64(), theirs.body["items"][0]["name"].as_str()), (Some(1), Some("Sunny")));
    assert_eq!(server.get("/v1/me/playlists", &owner).body["total"], 2);

    let sunny = public.body["id"].as_str().unwrap();
    let follow = server.request("PUT", &format!("/v1/playlists/{sunny}/followers"), Some(&stranger), None);
    assert_eq!(follow.status, 200);
    let stranger_id = server.get("/v1/me", &stranger).body["id"].as_str().unwrap().to_string();
    let contains =
        server.get(&format!("/v1/playlists/{sunny}/followers/contains?ids={stranger_id},{owner_id}"), &owner);
    assert_eq!(contains.body, json!([true, false]));
    assert_eq!(server.get(&format!("/v1/playlists/{sunny}"), &owner).body["followers"]["total"], 1);

    for bad in [json!({}), json!({"name": ""}), json!({"name": "x", "public": true, "collaborative": true})] {
        assert_eq!(server.request("POST", "/v1/me/playlists", Some(&owner), Some(bad)).status, 400);
    }
    let for_other =
        server.request("POST", &format!("/v1/users/{stranger_id}/playlists"), Some(&owner), Some(json!({"name": "x"})));
    assert_eq!(for_other.status, 403);
}
