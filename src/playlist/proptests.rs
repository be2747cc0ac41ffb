//! Property tests of the edit model: random edits (several ops each, some refused, some past the
//! item limit, some naming uids that are gone) keep uids unique and the length within
//! [`MAX_ITEMS`]; a refused edit changes nothing; the version grows by one exactly when
//! something changed; and a replica that replays the answered ops holds the same playlist.

use std::collections::HashSet;

use proptest::prelude::*;

use super::webapi::{RemoveTrack, WebEdit, reorder_reference};
use super::*;

/// An op whose uids are picked when it is applied, from the playlist as it is then.
#[derive(Debug, Clone)]
enum Pick {
    Add { count: usize, position: Option<u32> },
    Remove { picks: Vec<usize>, absent: bool },
    Move { pick: usize, position: u32 },
    Rename { empty: bool },
    Details { public: Option<bool>, collaborative: Option<bool> },
}

fn arb_pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        4 => (1usize..6, prop::option::of(0u32..30)).prop_map(|(count, position)| Pick::Add { count, position }),
        1 => (2_500usize..5_000, prop::option::of(0u32..30)).prop_map(|(count, position)| Pick::Add { count, position }),
        3 => (prop::collection::vec(any::<usize>(), 0..4), any::<bool>())
            .prop_map(|(picks, absent)| Pick::Remove { picks, absent }),
        3 => (any::<usize>(), 0u32..40).prop_map(|(pick, position)| Pick::Move { pick, position }),
        1 => prop::bool::weighted(0.2).prop_map(|empty| Pick::Rename { empty }),
        1 => (prop::option::of(any::<bool>()), prop::option::of(any::<bool>()))
            .prop_map(|(public, collaborative)| Pick::Details { public, collaborative }),
    ]
}

fn resolve(pick: &Pick, playlist: &Playlist, tracks: &mut u128) -> Op {
    let uid_at = |n: usize| playlist.items.get(n % playlist.items.len().max(1)).map(|item| item.uid);
    match pick {
        Pick::Add { count, position } => {
            let track_ids = (0..*count)
                .map(|_| {
                    *tracks += 1;
                    Id::from_u128(*tracks % 50)
                })
                .collect();
            Op::Add { track_ids, position: *position }
        }
        Pick::Remove { picks, absent } => {
            let mut uids: Vec<Id> = picks.iter().filter_map(|&n| uid_at(n)).collect();
            if *absent {
                uids.push(Id::from_u128(u128::MAX - 1));
            }
            Op::Remove { uids }
        }
        Pick::Move { pick, position } => {
            Op::Move { uid: uid_at(*pick).unwrap_or(Id::from_u128(3)), position: *position }
        }
        Pick::Rename { empty } => Op::Rename { name: if *empty { " ".into() } else { format!("n{tracks}") } },
        Pick::Details { public, collaborative } => {
            Op::SetDetails { description: Some(format!("d{tracks}")), public: *public, collaborative: *collaborative }
        }
    }
}

fn empty_playlist() -> Playlist {
    Playlist {
        id: Id::from_u128(1),
        owner: Id::from_u128(2),
        version: 0,
        details: Details { name: "Mix".into(), description: String::new(), public: false, collaborative: false },
        items: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_keep_the_invariants_and_replicas_converge(
        edits in prop::collection::vec(prop::collection::vec(arb_pick(), 1..4), 1..40),
    ) {
        let mut server = empty_playlist();
        let mut replica_items: Vec<Item> = Vec::new();
        let mut replica_details = server.details.clone();
        let mut tracks = 0u128;
        for (n, picks) in edits.iter().enumerate() {
            // Each op is picked against the playlist as it is before the edit, as a client
            // holding that version would.
            let ops: Vec<Op> = picks.iter().map(|pick| resolve(pick, &server, &mut tracks)).collect();
            let before = server.clone();
            match server.apply(&ops, Some(Id::from_u128(2)), n as i64) {
                Ok(edited) => {
                    prop_assert_eq!(edited.prev_version, before.version);
                    prop_assert_eq!(server.version, before.version + i64::from(edited.changed()));
                    for op in &edited.ops {
                        replay(&mut replica_items, &mut replica_details, op);
                    }
                }
                Err(_) => prop_assert_eq!(&server, &before, "a refused edit changes nothing"),
            }
            prop_assert!(server.items.len() <= MAX_ITEMS);
            let uids: HashSet<Id> = server.items.iter().map(|item| item.uid).collect();
            prop_assert_eq!(uids.len(), server.items.len(), "uids are unique");
            prop_assert_eq!(&replica_items, &server.items, "the replica holds the same order");
            prop_assert_eq!(&replica_details, &server.details);
            prop_assert!(!(server.details.public && server.details.collaborative));
        }
    }

    #[test]
    fn uids_stay_with_their_items_for_their_whole_life(
        edits in prop::collection::vec(prop::collection::vec(arb_pick(), 1..3), 1..30),
    ) {
        let mut playlist = empty_playlist();
        let mut tracks = 0u128;
        // Every uid ever seen, with the item it named: never reused for another item.
        let mut seen: std::collections::HashMap<Id, (Id, i64)> = Default::default();
        for picks in &edits {
            let ops: Vec<Op> = picks.iter().map(|pick| resolve(pick, &playlist, &mut tracks)).collect();
            let _ = playlist.apply(&ops, None, 0);
            for item in &playlist.items {
                let named = seen.entry(item.uid).or_insert((item.track_id, playlist.version));
                prop_assert_eq!(named.0, item.track_id);
            }
        }
    }

    #[test]
    fn web_api_edits_match_their_reference(
        length in 1usize..12,
        start in any::<usize>(),
        before in any::<usize>(),
        count in any::<usize>(),
        removed in any::<usize>(),
    ) {
        let mut playlist = empty_playlist();
        let track_ids: Vec<Id> = (0..length).map(|n| Id::from_u128(n as u128 % 4)).collect();
        playlist.apply(&[Op::Add { track_ids, position: None }], None, 0).unwrap();
        let order = |p: &Playlist| p.items.iter().map(|item| item.uid).collect::<Vec<_>>();

        let start = start % length;
        let count = 1 + count % (length - start);
        let before = before % (length + 1);
        let expected = reorder_reference(&order(&playlist), start, before, count);
        let mut reordered = playlist.clone();
        let edit = WebEdit::Reorder { range_start: start as u32, insert_before: before as u32, range_length: count as u32 };
        let ops = edit.ops(&reordered, true).unwrap();
        reordered.apply(&ops, None, 1).unwrap();
        prop_assert_eq!(order(&reordered), expected);

        let track = playlist.items[removed % length].track_id;
        let edit = WebEdit::Remove { tracks: vec![RemoveTrack { track, positions: None }] };
        let ops = edit.ops(&playlist, false).unwrap();
        let mut without = playlist.clone();
        without.apply(&ops, None, 1).unwrap();
        let left: Vec<&Item> = playlist.items.iter().filter(|item| item.track_id != track).collect();
        prop_assert_eq!(without.items.iter().collect::<Vec<_>>(), left);
    }
}
