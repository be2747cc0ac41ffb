//! The store test suite, run against both databases: a real SQLite file and a real PostgreSQL
//! database (a fresh one per test, dropped afterwards). Every behaviour of the store is checked
//! the same way on both, so the two stay one store.
//!
//! PostgreSQL is reached at `SEGUE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `scripts/test.sh` starts it when it is not
//! running.

use segue::catalog::synthetic;
use segue::domain::Product;
use segue::ids::Id;
use segue::playlist::Op;
use segue::storage::library::Collection;
use segue::storage::playlists::{Claim, NewPlaylist, snapshot_id, snapshot_version};
use segue::storage::plays::HistoryCursor;
use segue::storage::snapshots::{PlayRecord, SnapshotRecord};
use segue::storage::users::UserUpsert;
use segue::storage::{Store, StoreLocation};

/// A store and what keeps it alive (the temporary dir, or the database to drop).
struct TestStore {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    database: Option<(String, String)>,
}

impl TestStore {
    /// Closes the store and drops its PostgreSQL database. (Not a `Drop`: closing needs the
    /// test's own runtime, which a `Drop` must not block.)
    async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = &self.database
            && let Ok(admin) = sqlx::PgPool::connect(admin_url).await
        {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
            admin.close().await;
        }
    }
}

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreLocation::DataDir(dir.path().to_path_buf())).await.expect("SQLite opens");
    TestStore { store, _dir: Some(dir), database: None }
}

async fn postgres() -> TestStore {
    let admin_url = std::env::var("SEGUE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let name = format!("segue_test_{}", Id::random().as_str().to_lowercase());
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|error| {
        panic!("PostgreSQL must be reachable at {admin_url} (scripts/test.sh starts it): {error}")
    });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let store = Store::open(&StoreLocation::Url(url)).await.expect("PostgreSQL opens");
    TestStore { store, _dir: None, database: Some((admin_url, name)) }
}

/// Runs each suite function against SQLite and against PostgreSQL.
macro_rules! both_stores {
    ($($suite:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[tokio::test] async fn $suite() { let test = super::sqlite().await; super::$suite(&test.store).await; test.finish().await; } )*
        }
        mod on_postgres {
            $( #[tokio::test] async fn $suite() { let test = super::postgres().await; super::$suite(&test.store).await; test.finish().await; } )*
        }
    };
}

both_stores!(
    users,
    catalog,
    snapshots_and_history,
    tops,
    library,
    playlists,
    playlist_edits,
    playlist_owner_fence,
    songs_import,
    search_feed,
    play_event_outbox,
    recommendations
);

fn upsert<'a>(name: &'a str, product: Option<Product>, country: Option<&'a str>) -> UserUpsert<'a> {
    UserUpsert { username: name, password_hash: "hash-1", display_name: None, product, country }
}

async fn users(store: &Store) {
    let id = store.insert_user(&upsert("ada", None, Some("GB")), 1).await.unwrap();
    assert!(store.insert_user(&upsert("ada", None, None), 2).await.unwrap_err().is_unique_violation());
    let ada = store.user_by_username("ada").await.unwrap().unwrap();
    assert_eq!(
        (ada.id, ada.product, ada.country.as_str(), ada.display_name.as_str()),
        (id, Product::Free, "GB", "ada")
    );

    let changed = UserUpsert {
        password_hash: "hash-2",
        display_name: Some("Ada"),
        ..upsert("ada", Some(Product::Premium), None)
    };
    assert_eq!(store.upsert_user(&changed, 3).await.unwrap(), (id, false));
    let ada = store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!((ada.product, ada.country.as_str(), ada.display_name.as_str()), (Product::Premium, "GB", "Ada"));
    assert_eq!(ada.password_hash, "hash-1", "updating a user keeps its password");
    let (bob, created) = store.upsert_user(&upsert("bob", None, None), 4).await.unwrap();
    assert!(created);
    let mut both: Vec<Id> =
        store.users_by_ids(&[id, bob, Id::from_u128(1)]).await.unwrap().iter().map(|u| u.id).collect();
    both.sort();
    let mut expected = vec![id, bob];
    expected.sort();
    assert_eq!(both, expected);

    let first = store.secret("k", || "one".into()).await.unwrap();
    assert_eq!(first, "one");
    assert_eq!(store.secret("k", || "two".into()).await.unwrap(), "one", "a secret is made once");
}

async fn catalog(store: &Store) {
    let bundles: Vec<_> = synthetic::generate(7, 300).collect();
    store.import_bundles(&bundles).await.unwrap();
    store.import_bundles(&bundles).await.unwrap();
    assert!(!store.catalog_is_empty().await.unwrap());
    let bundle = &bundles[0];
    let album = &bundle.albums[0];
    let tracks = store.album_tracks(album.id).await.unwrap();
    let expected: Vec<_> = bundle.tracks.iter().filter(|t| t.album_id == album.id).collect();
    assert_eq!(tracks.len(), expected.len(), "an import run twice adds nothing");
    assert!(tracks.windows(2).all(|w| (w[0].disc_number, w[0].track_number) < (w[1].disc_number, w[1].track_number)));
    let first = &tracks[0];
    assert_eq!(first.album.total_tracks as usize, expected.len());
    assert_eq!(first.artist.name, bundle.artist.name);

    let track = &expected[0];
    let row = &store.tracks(&[track.id, Id::from_u128(5)]).await.unwrap()[0];
    assert_eq!(
        (row.name.as_str(), row.duration_ms, row.explicit),
        (track.name.as_str(), track.duration_ms, track.explicit)
    );
    assert_eq!(row.isrc.as_deref(), Some(track.isrc.as_str()));
    assert_eq!(row.markets, track.available_markets);

    let artist = bundle.artist.id;
    let top = store.artist_top_tracks(artist, 5).await.unwrap();
    assert!(top.windows(2).all(|w| w[0].popularity >= w[1].popularity));
    let (albums, total) = store.artist_albums(artist, 2, 0).await.unwrap();
    assert_eq!(total as usize, bundle.albums.len());
    assert!(albums.len() <= 2);
    assert_eq!(store.artist(artist).await.unwrap().unwrap().genres, bundle.artist.genres);

    let features = &store.audio_features(&[track.id]).await.unwrap()[0];
    assert!((features.tempo - f64::from(track.features.tempo)).abs() < 0.01);
    assert_eq!(features.key, i64::from(track.features.key));
}

async fn snapshots_and_history(store: &Store) {
    let user = store.insert_user(&upsert("listener", None, None), 1).await.unwrap();
    let snapshot = |epoch, seq, byte| SnapshotRecord { epoch, seq, state: vec![byte; 3] };
    store.write_batch(&[(user, snapshot(1, 10, 1))], &[], 100).await.unwrap();
    store.write_batch(&[(user, snapshot(2, 11, 2))], &[], 101).await.unwrap();
    store.write_batch(&[(user, snapshot(1, 99, 3))], &[], 102).await.unwrap();
    assert_eq!(
        store.load_snapshot(user).await.unwrap(),
        Some(snapshot(2, 11, 2)),
        "a write from an older epoch is refused"
    );

    let bundles: Vec<_> = synthetic::generate(3, 20).collect();
    store.import_bundles(&bundles).await.unwrap();
    let plays: Vec<PlayRecord> =
        bundles[0].tracks.iter().take(3).enumerate().map(|(n, t)| play(user, t.id, 1_000 + n as i64)).collect();
    store.write_batch(&[], &plays, 103).await.unwrap();
    let recent = store.recently_played(user, HistoryCursor::Before(i64::MAX), 10).await.unwrap();
    assert_eq!(recent.iter().map(|p| p.played_at_ms).collect::<Vec<_>>(), [1_002, 1_001, 1_000]);
    assert_eq!(store.recently_played(user, HistoryCursor::Before(1_002), 10).await.unwrap().len(), 2);
    // After a cursor: the oldest after it, still newest first.
    let after = store.recently_played(user, HistoryCursor::After(1_000), 1).await.unwrap();
    assert_eq!(after.iter().map(|p| p.played_at_ms).collect::<Vec<_>>(), [1_001]);
}

/// The play-event outbox: plays written by a publishing store wait, oldest count first, until
/// settled (a later write of the same play does not queue it again); on PostgreSQL a second
/// taker skips the rows the first holds; the export pages by `(counted_at_ms, id)`.
async fn play_event_outbox(store: &Store) {
    let user = store.insert_user(&upsert("royalty", None, None), 1).await.unwrap();
    let bundles: Vec<_> = synthetic::generate(4, 21).collect();
    store.import_bundles(&bundles).await.unwrap();
    let tracks: Vec<Id> = bundles[0].tracks.iter().map(|t| t.id).take(4).collect();
    // Counted before events were published: never pending.
    store.write_batch(&[], &[play(user, tracks[0], 1_000)], 500).await.unwrap();
    let publishing = store.clone().publishing_play_events(true);
    publishing.write_batch(&[], &[play(user, tracks[1], 1_001)], 600).await.unwrap();
    publishing.write_batch(&[], &[play(user, tracks[2], 1_002)], 700).await.unwrap();
    let mut reported = play(user, tracks[3], 1_003);
    reported.id = "offline:royalty:p1".into();
    assert_eq!(publishing.insert_reported_plays(&[reported], 800).await.unwrap().len(), 1);
    assert_eq!(store.pending_play_event_count().await.unwrap(), 3);

    let first = publishing.take_pending_play_events(2).await.unwrap();
    let ids: Vec<String> = first.events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, [play(user, tracks[1], 1_001).id, play(user, tracks[2], 1_002).id], "oldest count first");
    assert_eq!(first.events[0].counted_at_ms, 600);
    if store.kind() == "postgres" {
        let second = publishing.take_pending_play_events(10).await.unwrap();
        let others: Vec<&str> = second.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(others, ["offline:royalty:p1"], "rows another publisher holds are skipped");
        second.settle(&[]).await.unwrap();
    }
    // Only what the stream acknowledged is settled.
    first.settle(&ids[..1]).await.unwrap();
    assert_eq!(store.pending_play_event_count().await.unwrap(), 2);
    // The settled play goes on playing: its row moves on, its event is not queued again.
    let mut longer = play(user, tracks[1], 1_001);
    longer.ms_played = 45_000;
    publishing.write_batch(&[], &[longer], 900).await.unwrap();
    let rest = publishing.take_pending_play_events(10).await.unwrap();
    let rest_ids: Vec<&str> = rest.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(rest_ids, [ids[1].as_str(), "offline:royalty:p1"]);
    let all: Vec<String> = rest.events.iter().map(|e| e.id.clone()).collect();
    rest.settle(&all).await.unwrap();
    assert_eq!(store.pending_play_event_count().await.unwrap(), 0);

    // The export: every counted play from an instant on, in count order, page by page.
    let page = store.play_events_since(600, None, 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.counted_at_ms).collect::<Vec<_>>(), [600, 700]);
    assert_eq!(page[0].ms_played, 45_000);
    let last = &page[1];
    let next = store.play_events_since(600, Some((last.counted_at_ms, &last.id)), 2).await.unwrap();
    assert_eq!(next.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["offline:royalty:p1"]);
    assert_eq!(store.play_events_since(0, None, 10).await.unwrap().len(), 4);
}

fn play(user: Id, track: Id, played_at_ms: i64) -> PlayRecord {
    PlayRecord {
        id: format!("{user}:{track}:{played_at_ms}"),
        user,
        track,
        context_uri: None,
        played_at_ms,
        ms_played: 30_000,
        end_reason: Some("track_done".into()),
        private: false,
    }
}

/// Tops rank counted plays since an instant (ties: the most recent first), by track and by the
/// tracks' artists, page by page with a total; private plays and other users' never count.
async fn tops(store: &Store) {
    let user = store.insert_user(&upsert("fan", None, None), 1).await.unwrap();
    let other = store.insert_user(&upsert("other", None, None), 1).await.unwrap();
    let bundles: Vec<_> = synthetic::generate(7, 60).collect();
    store.import_bundles(&bundles).await.unwrap();
    let a = bundles.iter().find(|bundle| bundle.tracks.len() >= 2).expect("an artist with two tracks");
    let b = bundles.iter().find(|bundle| bundle.artist.id != a.artist.id).expect("another artist");
    let (a1, a2, b1) = (a.tracks[0].id, a.tracks[1].id, b.tracks[0].id);
    let mut plays = vec![
        // Old: b1 three times.
        play(user, b1, 100),
        play(user, b1, 101),
        play(user, b1, 102),
        // Recent: a1 twice, a2 once (later than a1's latest: a tie of one goes to the latest).
        play(user, a1, 1_000),
        play(user, a1, 1_001),
        play(user, a2, 1_002),
        play(other, a2, 1_003),
        play(other, a2, 1_004),
    ];
    plays.push(PlayRecord { private: true, ..play(user, a2, 1_005) });
    plays.push(PlayRecord { private: true, ..play(user, a2, 1_006) });
    store.write_batch(&[], &plays, 2_000).await.unwrap();

    assert_eq!(store.top_tracks(user, 1_000, 10, 0).await.unwrap(), (vec![a1, a2], 2));
    assert_eq!(store.top_tracks(user, 0, 10, 0).await.unwrap(), (vec![b1, a1, a2], 3));
    assert_eq!(store.top_tracks(user, 0, 1, 1).await.unwrap(), (vec![a1], 3));
    assert_eq!(store.top_tracks(user, 0, 10, 3).await.unwrap(), (vec![], 3));
    // By artist: a's three recent plays against b's three older ones.
    assert_eq!(store.top_artists(user, 1_000, 10, 0).await.unwrap(), (vec![a.artist.id], 1));
    assert_eq!(store.top_artists(user, 0, 10, 0).await.unwrap(), (vec![a.artist.id, b.artist.id], 2));
    let private_excluded = store.recently_played(user, HistoryCursor::Before(i64::MAX), 50).await.unwrap();
    assert_eq!(private_excluded.len(), 6);
}

async fn library(store: &Store) {
    let user = store.insert_user(&upsert("collector", None, None), 1).await.unwrap();
    let friend = store.insert_user(&upsert("friend", None, None), 1).await.unwrap();
    let bundles: Vec<_> = synthetic::generate(5, 30).collect();
    store.import_bundles(&bundles).await.unwrap();
    let tracks: Vec<Id> = bundles[0].tracks.iter().take(4).map(|t| t.id).collect();
    let ghost = Id::from_u128(42);

    assert_eq!(store.existing(Collection::SavedTracks, &[tracks[0], ghost]).await.unwrap(), [tracks[0]]);
    store.add_to(Collection::SavedTracks, user, &tracks[..3], 100).await.unwrap();
    store.add_to(Collection::SavedTracks, user, &tracks[..1], 500).await.unwrap();
    assert_eq!(store.contains(Collection::SavedTracks, user, &[tracks[3], tracks[1]]).await.unwrap(), [false, true]);
    let (page, total) = store.collection_page(Collection::SavedTracks, user, 2, 0).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        page.iter().map(|a| a.id).collect::<Vec<_>>(),
        [tracks[2], tracks[1]],
        "newest first; a re-save keeps its time"
    );
    store.remove_from(Collection::SavedTracks, user, &[tracks[1], ghost]).await.unwrap();
    assert_eq!(store.collection_page(Collection::SavedTracks, user, 10, 0).await.unwrap().1, 2);

    store.add_to(Collection::FollowedUsers, user, &[friend], 1).await.unwrap();
    assert_eq!(store.follower_count(friend).await.unwrap(), 1);
    let artists: Vec<Id> = bundles.iter().map(|b| b.artist.id).collect();
    store.add_to(Collection::FollowedArtists, user, &artists, 1).await.unwrap();
    let (first, total) = store.collection_after(Collection::FollowedArtists, user, None, 1).await.unwrap();
    let (rest, _) = store.collection_after(Collection::FollowedArtists, user, Some(first[0]), 10).await.unwrap();
    assert_eq!(total as usize, artists.len());
    assert_eq!(first.len() + rest.len(), artists.len());
    assert!(rest.iter().all(|id| *id > first[0]), "the cursor pages by id");
}

async fn playlists(store: &Store) {
    let owner = store.insert_user(&upsert("owner", None, None), 1).await.unwrap();
    let other = store.insert_user(&upsert("other", None, None), 1).await.unwrap();
    let bundles: Vec<_> = synthetic::generate(9, 10).collect();
    store.import_bundles(&bundles).await.unwrap();
    let tracks: Vec<Id> = bundles[0].tracks.iter().map(|t| t.id).collect();
    let details = NewPlaylist { owner, name: "Road trip", description: "", public: false, collaborative: false };
    let playlist = store.create_playlist(&details, 10).await.unwrap();
    assert!(!store.insert_playlist(playlist, &details, 11).await.unwrap(), "the same id again creates nothing");
    let before = store.playlist(playlist).await.unwrap().unwrap().snapshot_id;
    let after = store.append_playlist_items(playlist, &tracks[..3], Some(owner), 12).await.unwrap();
    assert_ne!(before, after);
    store.append_playlist_items(playlist, &tracks[3..5], Some(other), 13).await.unwrap();
    let row = store.playlist(playlist).await.unwrap().unwrap();
    assert_eq!((row.total_items, row.owner_name.as_str(), row.public), (5, "owner", false));
    let (items, total) = store.playlist_items(playlist, 2, 2).await.unwrap();
    assert_eq!(total, 5);
    assert_eq!(items.iter().map(|i| (i.position, i.track_id)).collect::<Vec<_>>(), [(2, tracks[2]), (3, tracks[3])]);
    assert_eq!(items[1].added_by, Some(other));
    assert_eq!(store.playlist_track_ids(playlist, 100).await.unwrap(), tracks[..5]);
    assert!(store.may_see_playlist(owner, &row).await.unwrap());
    assert!(!store.may_see_playlist(other, &row).await.unwrap(), "a private playlist is its owner's");
    store.add_to(Collection::FollowedPlaylists, other, &[playlist], 14).await.unwrap();
    assert_eq!(store.playlists(&[playlist]).await.unwrap()[0].followers, 1);
    assert_eq!(store.owned_playlists(owner, false, 10, 0).await.unwrap().1, 1);
    assert_eq!(store.owned_playlists(owner, true, 10, 0).await.unwrap().1, 0, "others see only public ones");
}

/// Edits written through the version fence: what is loaded back is what the model holds after
/// each edit (adds, removes and moves mixed, details with them); a write from a stale version
/// is refused and changes nothing; collaborators come and go.
async fn playlist_edits(store: &Store) {
    let owner = store.insert_user(&upsert("owner", None, None), 1).await.unwrap();
    let friend = store.insert_user(&upsert("friend", None, None), 1).await.unwrap();
    let bundles: Vec<_> = synthetic::generate(5, 40).collect();
    store.import_bundles(&bundles).await.unwrap();
    let tracks: Vec<Id> = bundles.iter().flat_map(|b| b.tracks.iter().map(|t| t.id)).take(40).collect();
    assert!(tracks.len() >= 30);
    let details = NewPlaylist { owner, name: "Shared", description: "", public: false, collaborative: true };
    let id = store.create_playlist(&details, 10).await.unwrap();
    let mut playlist = store.load_playlist(id).await.unwrap().unwrap();
    assert_eq!((playlist.version, playlist.items.len(), playlist.owner), (0, 0, owner));
    assert!(store.load_playlist(Id::from_u128(77)).await.unwrap().is_none());

    let edits: Vec<Vec<Op>> = vec![
        vec![Op::Add { track_ids: tracks[..20].to_vec(), position: None }],
        vec![Op::Add { track_ids: tracks[20..25].to_vec(), position: Some(3) }, Op::Rename { name: "Shared!".into() }],
        // Filled in below: uids of the playlist as it is then.
        vec![],
        vec![Op::SetDetails { description: Some("for the road".into()), public: None, collaborative: None }],
    ];
    for (n, mut ops) in edits.into_iter().enumerate() {
        if ops.is_empty() {
            let uids: Vec<Id> = playlist.items.iter().map(|item| item.uid).collect();
            ops = vec![
                Op::Remove { uids: vec![uids[0], uids[7], uids[24]] },
                Op::Move { uid: uids[1], position: 15 },
                Op::Move { uid: uids[20], position: 0 },
                Op::Add { track_ids: tracks[25..30].to_vec(), position: Some(10) },
            ];
        }
        let before = playlist.clone();
        let edited = playlist.apply(&ops, Some(friend), 20 + n as i64).unwrap();
        assert!(edited.changed());
        let snapshot = store.write_playlist_edit(&before, &playlist, 20 + n as i64).await.unwrap();
        assert_eq!(snapshot, snapshot_id(id, playlist.version));
        assert_eq!(snapshot_version(id, &snapshot), Some(playlist.version));
        assert_eq!(store.load_playlist(id).await.unwrap().unwrap(), playlist, "edit {n} reads back as written");
    }
    let row = store.playlist(id).await.unwrap().unwrap();
    assert_eq!((row.name.as_str(), row.description.as_str()), ("Shared!", "for the road"));
    assert_eq!(row.snapshot_id, snapshot_id(id, playlist.version));
    assert_eq!(row.total_items, 27);
    let (page, _) = store.playlist_items(id, 50, 0).await.unwrap();
    assert!(page.iter().enumerate().all(|(n, item)| item.position as usize == n), "positions stay dense");
    assert!(page.iter().all(|item| item.added_by == Some(friend)));
    assert_eq!(snapshot_version(Id::from_u128(5), &row.snapshot_id), None, "another playlist's snapshot");

    // A writer that read version 3 while version 4 is stored is fenced off.
    let mut stale = playlist.clone();
    stale.version -= 1;
    let mut stale_after = stale.clone();
    stale_after.apply(&[Op::Remove { uids: vec![stale.items[0].uid] }], None, 99).unwrap();
    let error = store.write_playlist_edit(&stale, &stale_after, 99).await.unwrap_err();
    assert!(error.is_fenced(), "{error}");
    assert_eq!(store.load_playlist(id).await.unwrap().unwrap(), playlist, "a fenced write changes nothing");

    // A reversal of the whole order (every item moves) and a removal of everything.
    let before = playlist.clone();
    let reversed: Vec<Op> = before.items.iter().map(|item| Op::Move { uid: item.uid, position: 0 }).collect();
    playlist.apply(&reversed, None, 100).unwrap();
    store.write_playlist_edit(&before, &playlist, 100).await.unwrap();
    assert_eq!(store.load_playlist(id).await.unwrap().unwrap(), playlist);
    let before = playlist.clone();
    playlist.apply(&[Op::Remove { uids: before.items.iter().map(|item| item.uid).collect() }], None, 101).unwrap();
    store.write_playlist_edit(&before, &playlist, 101).await.unwrap();
    assert_eq!(store.load_playlist(id).await.unwrap().unwrap().items, vec![]);

    // Random edits (adds, removes and moves mixed, several ops an edit) read back as written.
    let mut rng = segue::reproducible::seeded_rng(7);
    for n in 0..40 {
        use rand::Rng;
        let before = playlist.clone();
        let len = before.items.len();
        let mut ops = Vec::new();
        for _ in 0..rng.random_range(1..4) {
            let pick = |rng: &mut segue::reproducible::SeededRng| {
                before.items[rng.random_range(0..len.max(1)) % len.max(1)].uid
            };
            ops.push(match rng.random_range(0..3) {
                0 if len > 0 => Op::Remove { uids: vec![pick(&mut rng)] },
                1 if len > 0 => Op::Move { uid: pick(&mut rng), position: rng.random_range(0..len as u32 + 2) },
                _ => Op::Add {
                    track_ids: tracks[..rng.random_range(1..4)].to_vec(),
                    position: Some(rng.random_range(0..len as u32 + 2)),
                },
            });
        }
        if playlist.apply(&ops, None, 200 + n).unwrap().changed() {
            store.write_playlist_edit(&before, &playlist, 200 + n).await.unwrap();
        }
        assert_eq!(store.load_playlist(id).await.unwrap().unwrap(), playlist, "random edit {n}: {ops:?}");
    }

    assert!(store.add_playlist_collaborator(id, friend).await.unwrap());
    assert!(!store.add_playlist_collaborator(id, friend).await.unwrap(), "already one");
    assert_eq!(store.playlist_collaborators(id).await.unwrap(), vec![friend]);
    assert!(store.may_see_playlist(friend, &store.playlist(id).await.unwrap().unwrap()).await.unwrap());
    assert!(store.remove_playlist_collaborator(id, friend).await.unwrap());
    assert!(!store.remove_playlist_collaborator(id, friend).await.unwrap());
    assert_eq!(store.playlist_collaborators(id).await.unwrap(), Vec::<Id>::new());
}

/// A cluster node that took a playlist over claims it under its epoch; the stale owner, even one
/// that read the current version, writes nothing after that.
async fn playlist_owner_fence(store: &Store) {
    let owner = store.insert_user(&upsert("owner", None, None), 1).await.unwrap();
    let bundles: Vec<_> = synthetic::generate(2, 10).collect();
    store.import_bundles(&bundles).await.unwrap();
    let track = bundles[0].tracks[0].id;
    let details = NewPlaylist { owner, name: "Placed", description: "", public: true, collaborative: false };
    let id = store.create_playlist(&details, 10).await.unwrap();
    assert_eq!(store.playlist_owner_epoch(id).await.unwrap(), Some(0), "never placed");
    assert_eq!(store.playlist_owner_epoch(Id::from_u128(77)).await.unwrap(), None);
    assert_eq!(store.claim_playlist(Id::from_u128(77), 1).await.unwrap(), Claim::Missing);
    assert_eq!(store.claim_playlist(id, 3).await.unwrap(), Claim::Claimed);
    assert_eq!(store.claim_playlist(id, 3).await.unwrap(), Claim::Claimed, "claiming again is harmless");

    let mut playlist = store.load_playlist(id).await.unwrap().unwrap();
    let before = playlist.clone();
    playlist.apply(&[Op::Add { track_ids: vec![track], position: None }], Some(owner), 11).unwrap();
    let write = |epoch: i64| {
        let (before, after) = (before.clone(), playlist.clone());
        async move { store.write_playlist_edit_then(&before, &after, epoch, 11, || async { Ok(()) }).await }
    };
    // The owner of epoch 3 is taken over by epoch 4 before it writes.
    assert_eq!(store.claim_playlist(id, 4).await.unwrap(), Claim::Claimed);
    assert_eq!(store.claim_playlist(id, 3).await.unwrap(), Claim::Newer, "an older owner cannot claim it back");
    let refused = write(3).await.unwrap_err();
    assert!(refused.is_fenced(), "{refused}");
    assert_eq!(store.load_playlist(id).await.unwrap().unwrap(), before, "the stale owner wrote nothing");
    write(4).await.unwrap();
    assert_eq!(store.load_playlist(id).await.unwrap().unwrap(), playlist);
    assert_eq!(store.playlist_owner_epoch(id).await.unwrap(), Some(4));
}

async fn songs_import(store: &Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("songs.csv");
    std::fs::write(
        &path,
        "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms
6f807x0ima9a1j3VPbc7VN,I Don't Care,Ed Sheeran,66,2oCs0DGTsRO98Gh5ZSl2Cx,I Don't Care,2019-06-14,Pop Remix,37i9dQZF1DXcZDD7cfEKhW,pop,dance pop,0.748,0.916,6,-2.634,1,0.0583,0.102,0,0.0653,0.518,122.036,194754
0r7CVbZTWZgbTCYdfa2P31,Memories,Maroon 5,67,63rPSO264uRjW1X5E6cWv6,Memories,2019-12-13,Pop Remix,37i9dQZF1DXcZDD7cfEKhW,pop,dance pop,0.726,0.815,11,-4.969,1,0.0373,0.0724,0.00421,0.357,0.693,99.972,162600
",
    )
    .unwrap();
    let done = segue::catalog::import_songs_csv(store, &path).await.unwrap();
    assert_eq!((done.tracks, done.artists, done.albums, done.playlists_created), (2, 2, 2, 1));
    let again = segue::catalog::import_songs_csv(store, &path).await.unwrap();
    assert_eq!(again.playlists_created, 0, "the second import adds nothing");
    let playlist = store.playlist(Id::parse("37i9dQZF1DXcZDD7cfEKhW").unwrap()).await.unwrap().unwrap();
    assert_eq!((playlist.total_items, playlist.public, playlist.owner_name.as_str()), (2, true, "Segue Editorial"));
    let track = &store.tracks(&[Id::parse("0r7CVbZTWZgbTCYdfa2P31").unwrap()]).await.unwrap()[0];
    assert_eq!((track.name.as_str(), track.artist.name.as_str(), track.popularity), ("Memories", "Maroon 5", 67));
}

async fn search_feed(store: &Store) {
    let bundles: Vec<_> = synthetic::generate(11, 120).collect();
    store.import_bundles(&bundles).await.unwrap();
    let owner = store.insert_user(&upsert("dj", None, None), 1).await.unwrap();
    let public = NewPlaylist { owner, name: "Warm up", description: "for the gym", public: true, collaborative: false };
    store.create_playlist(&public, 2).await.unwrap();
    store.create_playlist(&NewPlaylist { public: false, name: "Secret", ..public.clone() }, 3).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.feed_tracks(after, 50).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|t| t.id);
        seen.extend(page);
    }
    assert_eq!(seen.len(), 120, "keyset paging reaches every track once");
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id));
    let track = &bundles[0].tracks[0];
    let fed = seen.iter().find(|t| t.id == track.id).unwrap();
    assert_eq!((fed.name.as_str(), fed.artist.as_str()), (track.name.as_str(), bundles[0].artist.name.as_str()));
    assert_eq!(store.feed_artists(None, 1000).await.unwrap().len(), bundles.len());
    let albums = store.feed_albums(None, 1000).await.unwrap();
    assert_eq!(albums.len(), bundles.iter().map(|b| b.albums.len()).sum::<usize>());
    let playlists = store.feed_public_playlists(None, 10).await.unwrap();
    assert_eq!(playlists.iter().map(|p| (p.name.as_str(), p.by.as_str())).collect::<Vec<_>>(), [("Warm up", "dj")]);
    let counts = store.feed_counts().await.unwrap();
    assert_eq!(counts, [120, bundles.len() as u64, albums.len() as u64, 1]);
}

/// Recommendations: what training reads (private plays left out; likes, playlist items and the
/// tracks of followed artists), a model served only once finished (older ones then go), its
/// neighbour table page by page, autoplay, and a Discover Weekly kept once per week.
async fn recommendations(store: &Store) {
    use segue::storage::recs::StoredModel;
    let user = store.insert_user(&upsert("listener", None, None), 1).await.unwrap();
    let bundles: Vec<_> = synthetic::generate(11, 40).collect();
    store.import_bundles(&bundles).await.unwrap();
    let tracks: Vec<Id> = bundles.iter().flat_map(|b| b.tracks.iter().map(|t| t.id)).collect();
    let plays = vec![
        play(user, tracks[0], 100),
        play(user, tracks[0], 101),
        play(user, tracks[1], 102),
        PlayRecord { private: true, ..play(user, tracks[2], 103) },
    ];
    store.write_batch(&[], &plays, 200).await.unwrap();
    store.add_to(Collection::SavedTracks, user, &[tracks[3]], 300).await.unwrap();
    store.add_to(Collection::FollowedArtists, user, &[bundles[1].artist.id], 300).await.unwrap();

    let data = store.recs_training_data().await.unwrap();
    let mut counted: Vec<(Id, u32)> = data.plays.iter().map(|&(_, track, n)| (track, n)).collect();
    counted.sort();
    let mut expected = vec![(tracks[0], 2), (tracks[1], 1)];
    expected.sort();
    assert_eq!(counted, expected, "private plays are not taste");
    assert_eq!(data.saved, vec![(user, tracks[3])]);
    assert_eq!(data.followed_artist_tracks.len(), bundles[1].tracks.len());
    assert!(data.followed_artist_tracks.iter().all(|&(u, artist, _, _)| u == user && artist == bundles[1].artist.id));

    let page = store.recs_catalog_page(None, 10).await.unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.windows(2).all(|w| w[0].id < w[1].id));
    assert!(page.iter().all(|t| t.features.is_some() && !t.genres.is_empty()));
    let rest = store.recs_catalog_page(page.last().map(|t| t.id), 100_000).await.unwrap();
    assert_eq!(page.len() + rest.len(), tracks.len());
    assert_eq!(store.catalog_track_count().await.unwrap(), tracks.len() as u64);

    assert_eq!(store.latest_recs_model().await.unwrap(), None);
    let model = |id: i64| StoredModel {
        id,
        method: "test".into(),
        users: 1,
        items: 2,
        interactions: 3,
        trained_by: "node-1".into(),
        finished_at_ms: id + 1,
    };
    let rows: Vec<(Id, String)> = tracks[..7].iter().map(|t| (*t, format!("{}:1.0000", tracks[9]))).collect();
    store.write_recs_neighbours(1_000, &rows).await.unwrap();
    assert_eq!(store.latest_recs_model().await.unwrap(), None, "unfinished: not served");
    store.finish_recs_model(&model(1_000)).await.unwrap();
    assert_eq!(store.latest_recs_model().await.unwrap(), Some(model(1_000)));
    let first = store.recs_neighbours_page(1_000, None, 4).await.unwrap();
    let second = store.recs_neighbours_page(1_000, first.last().map(|r| r.0), 4).await.unwrap();
    assert_eq!((first.len(), second.len()), (4, 3));
    // A newer model replaces it, and the older one's rows go.
    store.write_recs_neighbours(2_000, &rows[..2]).await.unwrap();
    store.finish_recs_model(&model(2_000)).await.unwrap();
    assert_eq!(store.latest_recs_model().await.unwrap(), Some(model(2_000)));
    assert!(store.recs_neighbours_page(1_000, None, 100).await.unwrap().is_empty());
    assert_eq!(store.recs_neighbours_page(2_000, None, 100).await.unwrap().len(), 2);

    let taste = store.user_taste(user).await.unwrap();
    assert_eq!(taste.played.len(), 2);
    assert_eq!(taste.saved, vec![tracks[3]]);
    assert_eq!(taste.followed_artists, vec![bundles[1].artist.id]);
    let mut played = store.tracks_played_since(user, 102).await.unwrap();
    played.sort();
    let mut expected = vec![tracks[1], tracks[2]];
    expected.sort();
    assert_eq!(played, expected, "private plays were still played");

    assert!(!store.autoplay(user).await.unwrap());
    store.set_autoplay(user, true, 5).await.unwrap();
    assert!(store.autoplay(user).await.unwrap());
    store.set_autoplay(user, false, 6).await.unwrap();
    assert!(!store.autoplay(user).await.unwrap());

    assert_eq!(store.discover_weekly(user, "2026-W49").await.unwrap(), None);
    let kept = store.keep_discover_weekly(user, "2026-W49", "a\tfirst\n", 1).await.unwrap();
    assert_eq!(kept, "a\tfirst\n");
    let again = store.keep_discover_weekly(user, "2026-W49", "b\tsecond\n", 2).await.unwrap();
    assert_eq!(again, "a\tfirst\n", "the first kept list stays all week");
    store.keep_discover_weekly(user, "2026-W50", "c\tnext\n", 3).await.unwrap();
    assert_eq!(store.discover_weekly(user, "2026-W49").await.unwrap(), None, "older weeks go");
}
