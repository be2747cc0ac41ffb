//! Offline sync, the pure part: the limits, and what one sync of a device changes and answers.
//!
//! A device keeps *sources* (track, album and playlist URIs); what they resolve to now (playable
//! in the user's country, a playlist as it is after its edits, at most
//! [`MAX_TRACKS_PER_DEVICE`]) is the set the device should hold. The store remembers, per
//! device, every track it was given with the version that gave it and, once gone, the version
//! that took it away ([`HeldTrack`]); the device's version grows at each sync that changes
//! something. [`plan_sync`] compares the two and says what to store and what the device gets:
//! the tracks added and removed since the version it names.
//!
//! **The licence** runs [`LICENCE_MS`] from the last sync. A device whose licence lapsed gets
//! every track it held in `remove` and the whole set again in `add` (clients apply `remove`
//! first): what it downloaded under the old licence may not be played any more.
//!
//! No IO and no clock here: time and rows come in as arguments (`storage::offline` keeps the
//! rows, `gateway::http::offline` serves the endpoints).

use std::collections::{HashMap, HashSet};

use crate::ids::Id;

/// Tracks one device may keep.
pub const MAX_TRACKS_PER_DEVICE: usize = 10_000;
/// Devices one user may keep tracks on.
pub const MAX_DEVICES_PER_USER: usize = 5;
/// How long a sync's licence runs: 30 days.
pub const LICENCE_MS: u64 = 30 * 24 * 60 * 60 * 1000;
/// The longest device id accepted.
pub const MAX_DEVICE_ID_LEN: usize = 64;
/// URIs one request may name.
pub const MAX_URIS_PER_REQUEST: usize = 100;

/// Whether `text` may name an offline device: 1 to 64 visible ASCII characters.
pub fn is_valid_device_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_DEVICE_ID_LEN && text.bytes().all(|b| b.is_ascii_graphic())
}

/// A track a device was given, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldTrack {
    pub track: Id,
    /// The version of the device that gave it (last).
    pub added_version: i64,
    /// The version that took it away; `None` while the device holds it.
    pub removed_version: Option<i64>,
}

/// What one sync stores and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// The device's version after the sync.
    pub version: i64,
    /// Tracks given at `version` (new, or given again after a removal).
    pub store_added: Vec<Id>,
    /// Tracks taken away at `version`.
    pub store_removed: Vec<Id>,
    /// What the device is to download, in the order of its sources.
    pub add: Vec<Id>,
    /// What the device is to delete (before it downloads `add`).
    pub remove: Vec<Id>,
}

impl SyncPlan {
    /// Whether the store has anything to write (else only the sync time moves).
    pub fn changes(&self) -> bool {
        !self.store_added.is_empty() || !self.store_removed.is_empty()
    }
}

/// Plans a sync of a device at `version` holding `held`, that should hold `wanted` (no
/// duplicates, in the order of its sources), for a device that names `since` (`None`, 0, or a
/// version it cannot have: it gets everything). With `lapsed`, its licence ran out: it drops
/// everything it held and gets the whole set again.
pub fn plan_sync(held: &[HeldTrack], version: i64, wanted: &[Id], since: Option<i64>, lapsed: bool) -> SyncPlan {
    let present: HashSet<Id> = held.iter().filter(|h| h.removed_version.is_none()).map(|h| h.track).collect();
    let wanted_set: HashSet<Id> = wanted.iter().copied().collect();
    let store_added: Vec<Id> = wanted.iter().copied().filter(|track| !present.contains(track)).collect();
    let mut store_removed: Vec<Id> = held
        .iter()
        .filter(|h| h.removed_version.is_none() && !wanted_set.contains(&h.track))
        .map(|h| h.track)
        .collect();
    store_removed.sort_unstable();
    let next = if store_added.is_empty() && store_removed.is_empty() && !lapsed { version } else { version + 1 };

    let since = since.filter(|since| *since > 0 && *since <= version);
    let (add, remove) = match since {
        _ if lapsed => {
            let mut remove: Vec<Id> = present.iter().copied().collect();
            remove.sort_unstable();
            (wanted.to_vec(), remove)
        }
        None => (wanted.to_vec(), Vec::new()),
        Some(since) => {
            // Versions after this sync's changes are applied.
            let added_at: HashMap<Id, i64> = held.iter().map(|h| (h.track, h.added_version)).collect();
            let given_since =
                |track: &Id| !present.contains(track) || added_at.get(track).is_none_or(|added| *added > since);
            let add = wanted.iter().copied().filter(given_since).collect();
            let mut remove: Vec<Id> = held
                .iter()
                .filter(|h| !wanted_set.contains(&h.track))
                .filter(|h| h.removed_version.is_none_or(|removed| removed > since))
                .map(|h| h.track)
                .collect();
            remove.sort_unstable();
            (add, remove)
        }
    };
    SyncPlan { version: next, store_added, store_removed, add, remove }
}

/// The licence's end for a sync at `now_ms`.
pub fn licence_expiry(now_ms: u64, licence_ms: u64) -> u64 {
    now_ms.saturating_add(licence_ms)
}

/// Whether a device last synced at `synced_at_ms` has lapsed by `now_ms`.
pub fn has_lapsed(synced_at_ms: Option<u64>, now_ms: u64, licence_ms: u64) -> bool {
    synced_at_ms.is_some_and(|synced| now_ms > synced.saturating_add(licence_ms))
}

/// Applies a plan to the held rows, as the store does (for tests and replicas).
pub fn apply(held: &mut Vec<HeldTrack>, plan: &SyncPlan) {
    let mut at: HashMap<Id, usize> = held.iter().enumerate().map(|(n, h)| (h.track, n)).collect();
    for track in &plan.store_added {
        match at.get(track) {
            Some(&n) => held[n] = HeldTrack { track: *track, added_version: plan.version, removed_version: None },
            None => {
                at.insert(*track, held.len());
                held.push(HeldTrack { track: *track, added_version: plan.version, removed_version: None });
            }
        }
    }
    for track in &plan.store_removed {
        if let Some(&n) = at.get(track) {
            held[n].removed_version = Some(plan.version);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ids(range: std::ops::Range<u128>) -> Vec<Id> {
        range.map(Id::from_u128).collect()
    }

    #[test]
    fn a_first_sync_gives_everything_and_a_second_only_what_changed() {
        let mut held = Vec::new();
        let first = plan_sync(&held, 0, &ids(1..4), None, false);
        assert_eq!((first.version, first.add.clone(), first.remove.clone()), (1, ids(1..4), vec![]));
        apply(&mut held, &first);
        let same = plan_sync(&held, 1, &ids(1..4), Some(1), false);
        assert_eq!((same.version, same.add.len(), same.remove.len(), same.changes()), (1, 0, 0, false));
        let second = plan_sync(&held, 1, &ids(2..6), Some(1), false);
        assert_eq!((second.version, second.add.clone(), second.remove.clone()), (2, ids(4..6), ids(1..2)));
        apply(&mut held, &second);
        // A device that missed a version gets both changes; one that names a future version,
        // everything.
        let from_zero = plan_sync(&held, 2, &ids(2..6), Some(0), false);
        assert_eq!((from_zero.add, from_zero.remove), (ids(2..6), vec![]));
        let future = plan_sync(&held, 2, &ids(2..6), Some(9), false);
        assert_eq!(future.add, ids(2..6));
    }

    #[test]
    fn a_lapsed_licence_drops_everything_and_gives_it_again() {
        let mut held = Vec::new();
        let first = plan_sync(&held, 0, &ids(1..4), None, false);
        apply(&mut held, &first);
        let lapsed = plan_sync(&held, 1, &ids(2..5), Some(1), true);
        assert_eq!(lapsed.version, 2);
        assert_eq!(lapsed.remove, ids(1..4), "everything held under the old licence");
        assert_eq!(lapsed.add, ids(2..5), "the whole set again");
        assert!(has_lapsed(Some(1_000), 1_000 + LICENCE_MS + 1, LICENCE_MS));
        assert!(!has_lapsed(Some(1_000), 1_000 + LICENCE_MS, LICENCE_MS));
        assert!(!has_lapsed(None, u64::MAX, LICENCE_MS));
    }

    #[test]
    fn device_ids_are_short_and_visible() {
        assert!(is_valid_device_id("phone-1"));
        for bad in ["", "with space", "ünï", &"x".repeat(65)] {
            assert!(!is_valid_device_id(bad), "{bad:?}");
        }
    }

    proptest! {
        /// A device that applies each answer (remove, then add) to what it holds always ends
        /// holding exactly the wanted set, however many syncs it skipped.
        #[test]
        fn a_device_applying_the_deltas_holds_the_wanted_set(
            sets in proptest::collection::vec(proptest::collection::btree_set(0u128..30, 0..12), 1..8),
            skips in proptest::collection::vec(proptest::bool::ANY, 8),
        ) {
            let mut held = Vec::new();
            let mut version = 0;
            let mut device: HashSet<Id> = HashSet::new();
            let mut device_version = None;
            for (n, set) in sets.iter().enumerate() {
                let wanted: Vec<Id> = set.iter().map(|v| Id::from_u128(*v)).collect();
                let plan = plan_sync(&held, version, &wanted, device_version, false);
                apply(&mut held, &plan);
                version = plan.version;
                // A skipped answer is lost (the device crashed before applying it).
                if !skips[n] || n == sets.len() - 1 {
                    for track in &plan.remove {
                        device.remove(track);
                    }
                    device.extend(plan.add.iter().copied());
                    device_version = Some(plan.version);
                    prop_assert_eq!(&device, &wanted.iter().copied().collect::<HashSet<_>>());
                }
                prop_assert!(plan.version >= 1 || wanted.is_empty());
            }
        }
    }
}
