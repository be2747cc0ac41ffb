//! A third-party client against Segue: the `rspotify` crate (the Rust Web API client), pointed
//! at the server's base URL with a Segue access token, through catalog, search, player, library
//! and follow calls. Its own models parse every answer, so a shape that drifts from the Web API's
//! fails here.

// Segue serves endpoints and fields the Web API dropped in 2026 (users, top tracks, audio
// features, `product`), and rspotify marks them deprecated: this test calls them on purpose.
#![allow(deprecated)]

mod common;

use std::collections::HashSet;

use chrono::{Duration, Utc};
use common::*;
use rspotify::clients::{BaseClient, OAuthClient};
use rspotify::model::{
    AlbumId, ArtistId, Id, LibraryId, PlayableId, PlayableItem, RepeatState, SearchResult, SearchType, TimeRange,
    TrackId, UserId,
};
use rspotify::{AuthCodeSpotify, Config, Credentials, OAuth, Token};

/// An rspotify client for `server`, authenticated with `token`.
fn client(server: &TestServer, token: &str) -> AuthCodeSpotify {
    let token = Token {
        access_token: token.to_string(),
        expires_in: Duration::hours(1),
        expires_at: Some(Utc::now() + Duration::hours(1)),
        refresh_token: None,
        scopes: HashSet::new(),
    };
    let config = Config { api_base_url: format!("{}/v1/", server.base), token_refreshing: false, ..Config::default() };
    AuthCodeSpotify::from_token_with_config(token, Credentials::default(), OAuth::default(), config)
}

#[tokio::test(flavor = "multi_thread")]
async fn rspotify_drives_catalog_search_player_library_and_follows() {
    // A play counts once 100 ms of it played.
    let server = TestServer::start(&["--stream-count-ms", "100"]);
    let (user_id, token) = server.register("rusty");
    let (friend_id, _) = server.register("rusty-friend");
    let (album_id, album_tracks) = server.album(&token);
    // A speaker that reads its socket in the background, so it answers pings and stays online.
    let (speaker, _) = Device::connect(&server, &token, "speaker", true).await;
    let keep_reading = tokio::spawn(async move {
        let mut speaker = speaker;
        loop {
            speaker.next_event().await;
        }
    });

    let spotify = client(&server, &token);
    tokio::task::spawn_blocking(move || {
        // The user.
        let me = spotify.me().expect("me");
        assert_eq!(me.id.id(), user_id);
        assert_eq!(me.product, Some(rspotify::model::SubscriptionLevel::Free));
        let friend = spotify.user(UserId::from_id(&friend_id).unwrap()).expect("user");
        assert_eq!(friend.display_name.as_deref(), Some("rusty-friend"));

        // Catalog.
        let album = spotify.album(AlbumId::from_id(&album_id).unwrap(), None).expect("album");
        assert_eq!(album.tracks.total as usize, album_tracks.len());
        let track_id = TrackId::from_id(album_tracks[0].0.clone()).unwrap();
        let track = spotify.track(track_id.clone(), None).expect("track");
        assert_eq!(track.album.id.as_ref().map(|id| id.id().to_string()), Some(album_id.clone()));
        assert_eq!(track.duration.num_milliseconds() as u64, album_tracks[0].1);
        let all: Vec<_> = spotify.album_track(album.id.clone(), None).map(|t| t.expect("a page of tracks")).collect();
        assert_eq!(all.len(), album_tracks.len(), "the paginator follows `next` through every page");
        let artist_id = album.artists[0].id.clone().unwrap();
        let artist = spotify.artist(artist_id.clone()).expect("artist");
        assert_eq!(artist.id, artist_id);
        let top = spotify.artist_top_tracks(artist_id.clone(), None).expect("top tracks");
        assert!(!top.is_empty());
        let albums: Vec<_> = spotify.artist_albums(artist_id.clone(), None, None).map(|a| a.expect("albums")).collect();
        assert!(albums.iter().any(|a| a.id.as_ref().map(|id| id.id()) == Some(album_id.as_str())));
        let features = spotify.track_features(track_id.clone()).expect("audio features");
        assert!(features.tempo > 0.0);

        // Search.
        let first_word = track.name.split_whitespace().next().unwrap().to_string();
        match spotify.search(&first_word, SearchType::Track, None, None, Some(10), None).expect("search") {
            SearchResult::Tracks(page) => assert!(!page.items.is_empty(), "{first_word} finds something"),
            other => panic!("a track search answered {other:?}"),
        }

        // Player, on the speaker.
        let devices = spotify.device().expect("devices");
        assert_eq!(devices[0].id.as_deref(), Some("speaker"));
        let uris: Vec<PlayableId> = album_tracks.iter().take(3).map(|(id, _)| PlayableId::Track(TrackId::from_id(id.clone()).unwrap())).collect();
        spotify.start_uris_playback(uris, Some("speaker"), None, Some(Duration::seconds(5))).expect("play");
        let playing = spotify.current_playback(None, None::<Vec<_>>).expect("playback").expect("something plays");
        assert!(playing.is_playing);
        assert_eq!(playing.device.id.as_deref(), Some("speaker"));
        match &playing.item {
            Some(PlayableItem::Track(item)) => assert_eq!(item.id.as_ref(), Some(&track_id)),
            other => panic!("the item is the first track, not {other:?}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        spotify.pause_playback(None).expect("pause");
        spotify.resume_playback(None, None).expect("resume");
        spotify.seek_track(Duration::seconds(20), None).expect("seek");
        spotify.repeat(RepeatState::Context, None).expect("repeat");
        spotify.shuffle(true, None).expect("shuffle");
        spotify.volume(35, Some("speaker")).expect("volume");
        spotify.add_item_to_queue(PlayableId::Track(TrackId::from_id(album_tracks[3].0.clone()).unwrap()), None).expect("queue");
        let queue = spotify.current_user_queue().expect("queue");
        assert!(matches!(&queue.queue[0], PlayableItem::Track(t) if t.id.as_ref().map(|id| id.id()) == Some(album_tracks[3].0.as_str())));
        spotify.next_track(None).expect("next");
        let playing = spotify.current_playback(None, None::<Vec<_>>).expect("playback").expect("something plays");
        assert_eq!(playing.repeat_state, RepeatState::Context);
        assert!(playing.shuffle_state);
        assert_eq!(playing.device.volume_percent, Some(35));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let recent = spotify.current_user_recently_played(Some(10), None).expect("recently played");
        assert_eq!(recent.items.len(), 2, "two tracks played long enough to count");
        assert_eq!(recent.items[1].track.id.as_ref(), Some(&track_id));
        let tops = spotify.current_user_top_tracks_manual(Some(TimeRange::ShortTerm), Some(10), Some(0)).expect("top tracks");
        assert_eq!(tops.total, 2);
        assert!(tops.items.iter().any(|track| track.id.as_ref() == Some(&track_id)));
        let top_artists = spotify.current_user_top_artists_manual(Some(TimeRange::LongTerm), Some(10), None).expect("top artists");
        assert!(!top_artists.items.is_empty());

        // Library and follows.
        spotify.library_add([LibraryId::Track(track_id.clone()), LibraryId::Album(album.id.clone())]).expect("save");
        let saved = spotify.library_contains([LibraryId::Track(track_id.clone())]).expect("contains");
        assert_eq!(saved, [true]);
        let liked: Vec<_> = spotify.current_user_saved_tracks(None).map(|t| t.expect("saved tracks")).collect();
        assert_eq!(liked[0].track.id.as_ref(), Some(&track_id));
        let saved_albums: Vec<_> = spotify.current_user_saved_albums(None).map(|a| a.expect("saved albums")).collect();
        assert_eq!(saved_albums[0].album.id, album.id);
        spotify.library_add([LibraryId::Artist(ArtistId::from_id(artist_id.id().to_string()).unwrap())]).expect("follow");
        let followed = spotify.current_user_followed_artists(None, None).expect("followed artists");
        assert_eq!(followed.items[0].id, artist_id);
        spotify.library_remove([LibraryId::Track(track_id.clone())]).expect("remove");
        assert_eq!(spotify.library_contains([LibraryId::Track(track_id)]).expect("contains"), [false]);

        // Errors come back as the Web API's errors.
        let missing = spotify.track(TrackId::from_id("0000000000000000000000").unwrap(), None);
        assert!(matches!(missing, Err(rspotify::ClientError::Http(_))), "{missing:?}");
    })
    .await
    .expect("the rspotify calls");
    keep_reading.abort();
    let _ = keep_reading.await;
}

/// The track ids of a playlist in order, read through rspotify's own models.
fn playlist_track_ids(spotify: &AuthCodeSpotify, playlist: &rspotify::model::PlaylistId<'_>) -> Vec<String> {
    let page = spotify.playlist_items_manual(playlist.as_ref(), None, None, Some(50), Some(0)).unwrap();
    page.items
        .iter()
        .map(|item| match &item.item {
            Some(PlayableItem::Track(track)) => track.id.as_ref().unwrap().id().to_string(),
            other => panic!("a track, not {other:?}"),
        })
        .collect()
}

#[test]
fn rspotify_edits_playlists() {
    use rspotify::model::PlaylistId;

    let server = TestServer::start(&[]);
    let (user_id, token) = server.register("rusty-editor");
    let ids = server.track_ids(&token, 4);
    let spotify = client(&server, &token);
    let user = UserId::from_id(user_id.as_str()).unwrap();
    let created = spotify.user_playlist_create(user, "Edits", Some(false), None, Some("made by rspotify")).unwrap();
    let playlist = PlaylistId::from_id(created.id.id().to_string()).unwrap();
    let track = |n: usize| PlayableId::Track(TrackId::from_id(ids[n].as_str()).unwrap());

    let added = spotify.playlist_add_items(playlist.as_ref(), [track(0), track(1), track(2)], None).unwrap();
    let front = spotify.playlist_add_items(playlist.as_ref(), [track(3)], Some(0)).unwrap();
    assert_ne!(added.snapshot_id, front.snapshot_id);
    assert_eq!(
        playlist_track_ids(&spotify, &playlist),
        [ids[3].clone(), ids[0].clone(), ids[1].clone(), ids[2].clone()]
    );

    let reordered =
        spotify.playlist_reorder_items(playlist.as_ref(), Some(0), Some(4), None, Some(&front.snapshot_id)).unwrap();
    assert_eq!(
        playlist_track_ids(&spotify, &playlist),
        [ids[0].clone(), ids[1].clone(), ids[2].clone(), ids[3].clone()]
    );
    spotify
        .playlist_remove_all_occurrences_of_items(playlist.as_ref(), [track(1)], Some(&reordered.snapshot_id))
        .unwrap();
    assert_eq!(playlist_track_ids(&spotify, &playlist), [ids[0].clone(), ids[2].clone(), ids[3].clone()]);
    spotify.playlist_replace_items(playlist.as_ref(), [track(2), track(2)]).unwrap();
    assert_eq!(playlist_track_ids(&spotify, &playlist), [ids[2].clone(), ids[2].clone()]);

    spotify
        .playlist_change_detail(playlist.as_ref(), Some("Edited"), None, Some("changed by rspotify"), Some(true))
        .unwrap();
    let full = spotify.playlist(playlist.as_ref(), None, None).unwrap();
    assert_eq!((full.name.as_str(), full.collaborative, full.public), ("Edited", true, Some(false)));
    assert_eq!(full.description.as_deref(), Some("changed by rspotify"));
    assert_eq!(full.items.total, 2);
    let item = &spotify.playlist_items_manual(playlist.as_ref(), None, None, Some(1), Some(0)).unwrap().items[0];
    assert_eq!(item.added_by.as_ref().map(|by| by.id.id().to_string()), Some(user_id.clone()));
    assert!(item.added_at.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn rspotify_parses_recommendations_with_seeds_and_tunable_attributes() {
    use rspotify::model::{Market, RecommendationsAttribute, RecommendationsSeedType};
    let server = TestServer::start(&[]);
    let (_, token) = server.register("rusty-recs");
    let tracks = server.track_ids(&token, 1);
    let genres = server.get("/v1/recommendations/available-genre-seeds", &token);
    let genre = genres.body["genres"][0].as_str().expect("a genre seed").to_string();
    let spotify = client(&server, &token);
    tokio::task::spawn_blocking(move || {
        let seed = TrackId::from_id(tracks[0].clone()).unwrap();
        let attributes = [RecommendationsAttribute::MinEnergy(0.1), RecommendationsAttribute::TargetPopularity(60)];
        let recommendations = spotify
            .recommendations(
                attributes,
                None::<Vec<ArtistId>>,
                Some([genre.as_str()]),
                Some([seed.clone()]),
                Some(Market::FromToken),
                Some(10),
            )
            .expect("rspotify parses the recommendations");
        assert_eq!(recommendations.tracks.len(), 10);
        assert!(recommendations.tracks.iter().all(|t| t.id.as_ref() != Some(&seed)), "never the seed");
        let kinds: Vec<_> = recommendations.seeds.iter().map(|s| s._type.clone()).collect();
        assert_eq!(kinds, [RecommendationsSeedType::Track, RecommendationsSeedType::Genre]);
        assert_eq!(recommendations.seeds[0].id, seed.id());
        assert!(recommendations.seeds.iter().all(|s| s.initial_pool_size >= s.after_filtering_size));
        assert!(recommendations.seeds[0].after_filtering_size > 0);
    })
    .await
    .unwrap();
}
