use std::collections::HashSet;

use proptest::prelude::*;

use super::*;

fn id(n: u128) -> Id {
    Id::from_u128(n)
}

fn track(n: u128, name: &str, artist: &str, album: &str, popularity: u8) -> TrackDoc {
    TrackDoc { id: id(n), name: name.to_owned(), artist: artist.to_owned(), album: album.to_owned(), popularity }
}

fn index_of(tracks: &[TrackDoc]) -> SearchIndex {
    let index = SearchIndex::open_in_ram().expect("index");
    let mut batch = index.writer().expect("batch");
    for t in tracks {
        batch.add_track(t);
    }
    batch.commit().expect("commit");
    index
}

fn tracks(index: &SearchIndex, query: &str) -> Vec<Id> {
    index.search(SearchKind::Track, query, 20, 0).expect("search").ids
}

fn abba() -> Vec<TrackDoc> {
    vec![
        track(1, "Dancing Queen", "ABBA", "Arrival", 80),
        track(2, "Bohemian Rhapsody", "Queen", "A Night at the Opera", 90),
        track(3, "Queen of Hearts", "Juice Newton", "Juice", 40),
        track(4, "Dance the Night", "Dua Lipa", "Barbie", 85),
        track(5, "Beyoncé Medley", "Somebody", "Live", 10),
        track(6, "Don't Stop Me Now", "Queen", "Jazz", 88),
        track(7, "Dancing Queen - Live", "ABBA", "Live at Wembley", 30),
        track(8, "1999", "Prince", "1999", 70),
    ]
}

#[test]
fn kinds_parse() {
    for kind in SearchKind::ALL {
        assert_eq!(SearchKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(SearchKind::parse("tracks"), None);
    assert_eq!(SearchKind::parse(""), None);
}

#[test]
fn ids_round_trip_through_parts_in_order() {
    let mut ids: Vec<Id> = (0..500).map(|_| Id::random()).collect();
    ids.push(id(0));
    ids.push(Id::parse("zzzzzzzzzzzzzzzzzzzzzz").expect("id"));
    ids.push(Id::parse("6f807x0ima9a1j3VPbc7VN").expect("id"));
    for &i in &ids {
        assert_eq!(id_from_parts(id_parts(i)), Some(i));
    }
    let mut by_parts = ids.clone();
    by_parts.sort_by_key(|&i| id_parts(i));
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(by_parts, ids);
}

#[test]
fn exact_prefix_and_typo() {
    let index = index_of(&abba());
    assert_eq!(tracks(&index, "Dancing Queen")[..2], [id(1), id(7)]);
    // Autocomplete: the last term is a prefix.
    assert_eq!(tracks(&index, "dancing que")[..2], [id(1), id(7)]);
    assert_eq!(tracks(&index, "bohemian rh"), [id(2)]);
    // Typos: substitution, deletion, transposition, and in the prefix.
    assert_eq!(tracks(&index, "dancing qeeen")[0], id(1));
    assert_eq!(tracks(&index, "dncing queen")[0], id(1));
    assert_eq!(tracks(&index, "bohemain rhapsody"), [id(2)]);
    assert_eq!(tracks(&index, "bohemian rhapsdoy"), [id(2)]);
    assert_eq!(tracks(&index, "bohemian rhaps"), [id(2)]);
    assert_eq!(tracks(&index, "bohemian rahps"), [id(2)]);
    // Accents, case, apostrophes, punctuation.
    assert_eq!(tracks(&index, "beyonce"), [id(5)]);
    assert_eq!(tracks(&index, "BEYONCÉ"), [id(5)]);
    assert_eq!(tracks(&index, "dont stop me now"), [id(6)]);
    assert_eq!(tracks(&index, "don't stop"), [id(6)]);
    assert_eq!(tracks(&index, "\"don't\" -stop + me:now"), [id(6)]);
    // Numbers are terms, never typos.
    assert_eq!(tracks(&index, "1999"), [id(8)]);
    assert!(tracks(&index, "1998").is_empty());
}

#[test]
fn name_outranks_artist_and_album() {
    let index = index_of(&abba());
    // "queen": three tracks have it in the name, two by the artist Queen (more popular).
    let ids = tracks(&index, "queen");
    assert_eq!(ids.len(), 5);
    let top: HashSet<Id> = ids[..3].iter().copied().collect();
    assert_eq!(top, HashSet::from([id(1), id(3), id(7)]));
    // The name starts with the query: "Queen of Hearts" first (bonus), then by popularity.
    assert_eq!(ids[0], id(3));
    assert_eq!(ids[1..3], [id(1), id(7)]);
    assert_eq!(ids[3..], [id(2), id(6)]);
    // Terms across attributes: artist + name.
    assert_eq!(tracks(&index, "queen bohemian"), [id(2)]);
    assert_eq!(tracks(&index, "abba arrival"), [id(1)]);
}

#[test]
fn tiers_come_before_relevance_and_popularity() {
    let index = index_of(&[
        track(1, "Love", "A", "X", 0),
        track(2, "Lovely Day", "B", "Y", 100),
        track(3, "Live Forever", "C", "Z", 100),
    ]);
    // Exact (tier 1) before prefix (tier 2) before typo (tier 3), whatever the popularity.
    assert_eq!(tracks(&index, "love"), [id(1), id(2), id(3)]);
    let page = index.search(SearchKind::Track, "love", 20, 0).expect("search");
    assert_eq!(page.total, 3);
}

#[test]
fn popularity_then_id_break_ties() {
    let index =
        index_of(&[track(5, "Intro", "A", "X", 10), track(3, "Intro", "B", "Y", 50), track(4, "Intro", "C", "Z", 10)]);
    assert_eq!(tracks(&index, "intro"), [id(3), id(4), id(5)]);
}

#[test]
fn any_term_fallback_when_nothing_matches_all() {
    let index = index_of(&abba());
    let page = index.search(SearchKind::Track, "bohemian xylophone zzz", 20, 0).expect("search");
    assert_eq!(page.ids, [id(2)]);
    assert_eq!(page.total, 1);
    // More matched terms first.
    let ids = tracks(&index, "dancing queen xylophone");
    assert_eq!(ids[..2], [id(1), id(7)]);
    assert!(tracks(&index, "xylophone").is_empty());
}

#[test]
fn empty_and_hostile_queries() {
    let index = index_of(&abba());
    for query in ["", "   ", "\t\n", "!!!", "\"", "*", "a:b AND (c OR", "-", "\u{0}", "🎵🎶", "'", "''''"] {
        let page = index.search(SearchKind::Track, query, 20, 0).expect("search");
        assert!(page.ids.len() <= 20, "{query:?}");
    }
    assert_eq!(index.search(SearchKind::Track, "  ", 20, 0).expect("search"), SearchPage::default());
    let long = "dancing queen ".repeat(200);
    assert!(!tracks(&index, &long).is_empty());
    let huge = "q".repeat(100_000);
    assert!(tracks(&index, &huge).is_empty());
    // limit 0 counts; an offset past the end is empty; huge numbers do not overflow.
    let page = index.search(SearchKind::Track, "queen", 0, 0).expect("search");
    assert_eq!((page.ids.len(), page.total), (0, 5));
    let page = index.search(SearchKind::Track, "queen", usize::MAX, usize::MAX).expect("search");
    assert_eq!((page.ids.len(), page.total), (0, 5));
    let page = index.search(SearchKind::Track, "queen", usize::MAX, 1).expect("search");
    assert_eq!((page.ids.len(), page.total), (4, 5));
}

#[test]
fn pages_neither_repeat_nor_skip() {
    let docs: Vec<TrackDoc> = (0..300u128)
        .map(|n| {
            let name = match n % 3 {
                0 => "Love Song",
                1 => "Love Songs Forever",
                _ => "Lovely",
            };
            track(n * 7919 + 13, name, "Artist", "Album", (n % 11) as u8)
        })
        .collect();
    let index = index_of(&docs);
    for query in ["love", "lov", "love song", "l"] {
        let all = index.search(SearchKind::Track, query, 1000, 0).expect("search");
        let mut paged = Vec::new();
        for offset in (0..all.total as usize + 10).step_by(7) {
            let page = index.search(SearchKind::Track, query, 7, offset).expect("search");
            assert_eq!(page.total, all.total);
            paged.extend(page.ids);
        }
        assert_eq!(paged, all.ids, "{query}");
        let distinct: HashSet<Id> = paged.iter().copied().collect();
        assert_eq!(distinct.len() as u64, all.total);
    }
}

#[test]
fn adds_are_upserts_and_deletes_apply() {
    let index = index_of(&abba());
    assert_eq!(index.doc_count(SearchKind::Track), 8);
    let mut batch = index.writer().expect("batch");
    batch.add_track(&track(1, "Mamma Mia", "ABBA", "ABBA", 75));
    batch.add_track(&track(1, "Mamma Mia", "ABBA", "ABBA", 76));
    batch.commit().expect("commit");
    assert_eq!(index.doc_count(SearchKind::Track), 8);
    assert_eq!(tracks(&index, "mamma mia"), [id(1)]);
    assert_eq!(tracks(&index, "dancing queen"), [id(7)]);

    let playlist = |name: &str| PlaylistDoc {
        id: id(1),
        name: name.to_owned(),
        description: "songs for the road".to_owned(),
        owner: "Alice".to_owned(),
        popularity: 3,
    };
    let mut batch = index.writer().expect("batch");
    batch.upsert_playlist(&playlist("Road Trip"));
    batch.add_artist(&ArtistDoc { id: id(1), name: "ABBA".to_owned(), popularity: 80 });
    batch.add_album(&AlbumDoc { id: id(2), name: "Arrival".to_owned(), artist: "ABBA".to_owned(), popularity: 70 });
    batch.commit().expect("commit");
    let find = |kind, q: &str| index.search(kind, q, 20, 0).expect("search").ids;
    assert_eq!(find(SearchKind::Playlist, "road trip"), [id(1)]);
    assert_eq!(find(SearchKind::Playlist, "alice"), [id(1)]);
    assert_eq!(find(SearchKind::Playlist, "songs road"), [id(1)]);
    assert_eq!(find(SearchKind::Artist, "abba"), [id(1)]);
    assert_eq!(find(SearchKind::Album, "abba"), [id(2)]);
    assert_eq!(find(SearchKind::Album, "arriv"), [id(2)]);
    // Kinds do not leak into each other (the track with id 1 is still there).
    assert_eq!(find(SearchKind::Artist, "arrival"), Vec::<Id>::new());
    assert_eq!(index.doc_count(SearchKind::Track), 8);

    let mut batch = index.writer().expect("batch");
    batch.upsert_playlist(&playlist("Night Drive"));
    batch.commit().expect("commit");
    assert!(find(SearchKind::Playlist, "trip").is_empty());
    assert_eq!(find(SearchKind::Playlist, "night drive"), [id(1)]);
    assert_eq!(index.doc_count(SearchKind::Playlist), 1);

    let mut batch = index.writer().expect("batch");
    batch.delete_playlist(id(1));
    batch.delete_playlist(id(99));
    batch.commit().expect("commit");
    assert_eq!(index.doc_count(SearchKind::Playlist), 0);
    assert!(find(SearchKind::Playlist, "night").is_empty());
    assert_eq!(index.doc_count(SearchKind::Artist), 1);

    let mut batch = index.writer().expect("batch");
    batch.delete(SearchKind::Track, id(2));
    batch.commit().expect("commit");
    assert_eq!(index.doc_count(SearchKind::Track), 7);
    assert!(tracks(&index, "bohemian").is_empty());
}

#[test]
fn a_dropped_batch_changes_nothing() {
    let index = index_of(&abba());
    {
        let mut batch = index.writer().expect("batch");
        batch.add_track(&track(100, "Waterloo", "ABBA", "Waterloo", 60));
        batch.delete(SearchKind::Track, id(1));
    }
    let mut batch = index.writer().expect("batch");
    batch.add_track(&track(101, "SOS", "ABBA", "ABBA", 50));
    batch.commit().expect("commit");
    assert!(tracks(&index, "waterloo").is_empty());
    assert_eq!(tracks(&index, "sos"), [id(101)]);
    assert_eq!(index.doc_count(SearchKind::Track), 9);
}

#[test]
fn delete_all_then_rebuild() {
    let index = index_of(&abba());
    let mut batch = index.writer().expect("batch");
    batch.delete_all();
    batch.add_track(&track(1, "Only One", "X", "Y", 1));
    batch.commit().expect("commit");
    assert_eq!(index.doc_count(SearchKind::Track), 1);
    assert_eq!(tracks(&index, "only"), [id(1)]);
}

#[test]
fn batches_are_one_at_a_time_and_searches_run_meanwhile() {
    let index = index_of(&abba());
    let batch = index.writer().expect("batch");
    let other = index.clone();
    let handle = std::thread::spawn(move || {
        let mut batch = other.writer().expect("batch");
        batch.add_track(&track(200, "Gimme Gimme Gimme", "ABBA", "Voulez-Vous", 70));
        batch.commit().expect("commit");
    });
    assert_eq!(tracks(&index, "bohemian")[0], id(2));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(!handle.is_finished());
    drop(batch);
    handle.join().expect("thread");
    assert_eq!(tracks(&index, "gimme"), [id(200)]);
}

#[test]
fn compact_merges_segments() {
    let index = SearchIndex::open_in_ram().expect("index");
    for n in 0..5u128 {
        let mut batch = index.writer().expect("batch");
        batch.add_track(&track(n, &format!("Song {n}"), "A", "B", 1));
        batch.commit().expect("commit");
    }
    index.compact().expect("compact");
    assert_eq!(index.segment_count(), 1);
    assert_eq!(index.doc_count(SearchKind::Track), 5);
    assert_eq!(tracks(&index, "song 3"), [id(3)]);
    let mut batch = index.writer().expect("batch");
    batch.add_track(&track(9, "After", "A", "B", 1));
    batch.commit().expect("commit");
    assert_eq!(tracks(&index, "after"), [id(9)]);
}

#[test]
fn reopens_from_disk_and_rebuilds_on_schema_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let index = SearchIndex::open_in_dir(dir.path()).expect("open");
        let mut batch = index.writer().expect("batch");
        batch.add_track(&track(1, "Persisted", "A", "B", 1));
        batch.commit().expect("commit");
    }
    let index = SearchIndex::open_in_dir(dir.path()).expect("reopen");
    assert_eq!(index.doc_count(SearchKind::Track), 1);
    assert_eq!(tracks(&index, "persisted"), [id(1)]);
    drop(index);

    // Another schema in the same place: discarded, recreated empty.
    let other = dir.path().join(INDEX_SUBDIR);
    std::fs::remove_dir_all(&other).expect("rm");
    std::fs::create_dir_all(&other).expect("mkdir");
    let mut builder = tantivy::schema::Schema::builder();
    builder.add_text_field("title", tantivy::schema::TEXT);
    Index::create_in_dir(&other, builder.build()).expect("create");
    let index = SearchIndex::open_in_dir(dir.path()).expect("open");
    assert_eq!(index.doc_count(SearchKind::Track), 0);
    let mut batch = index.writer().expect("batch");
    batch.add_track(&track(1, "Fresh", "A", "B", 1));
    batch.commit().expect("commit");
    assert_eq!(tracks(&index, "fresh"), [id(1)]);
}

#[test]
fn an_index_opened_twice_for_writing_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = SearchIndex::open_in_dir(dir.path()).expect("open");
    let error = SearchIndex::open_in_dir(dir.path()).expect_err("locked");
    assert!(error.to_string().contains("search index"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn never_panics(query in "\\PC{0,60}", limit in 0usize..50, offset in 0usize..50) {
        thread_local! {
            static INDEX: SearchIndex = index_of(&abba());
        }
        INDEX.with(|index| {
            for kind in SearchKind::ALL {
                let page = index.search(kind, &query, limit, offset).expect("search");
                prop_assert!(page.ids.len() <= limit);
            }
            Ok(())
        })?;
    }
}

/// The materialised (dense) and merged (sparse) evaluations of the same query agree exactly.
#[test]
fn dense_and_sparse_evaluations_agree() {
    use crate::catalog::synthetic;
    let index = SearchIndex::open_in_ram().expect("index");
    let mut batch = index.writer().expect("batch");
    let mut names = Vec::new();
    for bundle in synthetic::generate(3, 3_000) {
        let albums: std::collections::HashMap<Id, &str> =
            bundle.albums.iter().map(|a| (a.id, a.name.as_str())).collect();
        for t in &bundle.tracks {
            batch.add_track(&TrackDoc {
                id: t.id,
                name: t.name.clone(),
                artist: bundle.artist.name.clone(),
                album: albums.get(&t.album_id).copied().unwrap_or_default().to_owned(),
                popularity: t.popularity,
            });
            names.push(t.name.clone());
        }
        batch.add_artist(&ArtistDoc {
            id: bundle.artist.id,
            name: bundle.artist.name.clone(),
            popularity: bundle.artist.popularity,
        });
    }
    batch.commit().expect("commit");
    let mut queries: Vec<String> = vec!["t".into(), "the".into(), "the d".into(), "of the".into(), "love".into()];
    for (n, name) in names.iter().enumerate().step_by(37) {
        let words: Vec<&str> = name.split_whitespace().collect();
        queries.push(name.clone());
        queries.push(words.iter().take(2).copied().collect::<Vec<_>>().join(" "));
        if let Some(first) = words.first() {
            queries.push(first.chars().take(1 + n % 3).collect());
        }
        queries.push(format!("{} zzyzx", words[0]));
        let mut typo: Vec<char> = name.chars().collect();
        if typo.len() > 3 {
            typo.swap(1, 2);
        }
        queries.push(typo.into_iter().collect());
    }
    let run = |mode: Option<u64>, kind: SearchKind, query: &str| {
        max_of::DENSE_OVERRIDE.with(|o| o.set(mode));
        let page = index.search(kind, query, 50, 3).expect("search");
        max_of::DENSE_OVERRIDE.with(|o| o.set(None));
        page
    };
    let mut broad = 0;
    for query in &queries {
        for kind in [SearchKind::Track, SearchKind::Artist] {
            let sparse = run(Some(0), kind, query);
            let dense = run(Some(u64::MAX), kind, query);
            let default = run(None, kind, query);
            assert_eq!(sparse, dense, "{kind} {query:?}");
            assert_eq!(sparse, default, "{kind} {query:?}");
            broad += usize::from(sparse.total > 300);
        }
    }
    assert!(broad > 10, "some broad queries ({broad})");
}

#[test]
fn delete_all_drops_what_the_batch_added_before_it() {
    let index = index_of(&abba());
    let mut batch = index.writer().expect("batch");
    for n in 0..500u128 {
        batch.add_track(&track(1000 + n, "Pending", "A", "B", 1));
    }
    batch.delete_all();
    batch.add_track(&track(1, "Kept", "A", "B", 1));
    batch.commit().expect("commit");
    assert_eq!(index.doc_count(SearchKind::Track), 1);
    assert!(tracks(&index, "pending").is_empty());
}

#[test]
fn the_index_is_send_and_sync() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<SearchIndex>();
    fn send<T: Send>() {}
    send::<IndexBatch<'static>>();
    send::<SearchError>();
}

#[test]
fn upserts_and_deletes_hold_across_chunks() {
    let index = SearchIndex::open_in_ram().expect("index");
    let mut batch = index.writer().expect("batch");
    let n = (2 * CHUNK_DOCS + 500) as u128;
    for i in 0..n {
        batch.add_track(&track(i, "Alpha", "A", "B", 1));
        if i == 3 {
            // Twice in the same chunk, then deleted in the same chunk, then back.
            batch.add_track(&track(2, "Gamma", "A", "B", 1));
            batch.delete(SearchKind::Track, id(1));
        }
    }
    batch.add_track(&track(5, "Beta", "A", "B", 1));
    batch.delete(SearchKind::Track, id(7));
    batch.add_track(&track(1, "Delta", "A", "B", 1));
    batch.commit().expect("commit");
    assert_eq!(index.doc_count(SearchKind::Track), n as u64 - 1);
    assert_eq!(tracks(&index, "beta"), [id(5)]);
    assert_eq!(tracks(&index, "gamma"), [id(2)]);
    assert_eq!(tracks(&index, "delta"), [id(1)]);
    let alpha = index.search(SearchKind::Track, "alpha", 1, 0).expect("search");
    assert_eq!(alpha.total, n as u64 - 4);
}
