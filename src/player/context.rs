//! The play context: the list of tracks being played (an album, a playlist, plain uris), the
//! order they play in (shuffled or not) and the cursor, the place of the current context track
//! in that order.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::ids::Id;
use crate::reproducible::seeded_rng;

/// The most tracks a context holds; longer playlists play their first this many.
pub const MAX_CONTEXT_TRACKS: usize = 10_000;

/// A track as the session needs it: its id and its length.
///
/// In a snapshot it is the pair `[id, duration_ms]`, the one exception to named fields: it
/// stands there once for every track of a context (up to 10,000), where two names a track would
/// double what is stored. It was a pair in format 1 too, and it is read from a pair or a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub struct TrackRef {
    pub id: Id,
    pub duration_ms: u32,
}

impl Serialize for TrackRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.id, self.duration_ms).serialize(serializer)
    }
}

/// The next move through the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The head of the user queue.
    Queue,
    /// The context track at this place of the play order.
    Context(usize),
}

/// The tracks being played and where the session is among them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayContext {
    uri: Option<String>,
    tracks: Vec<TrackRef>,
    /// The play order as indices into `tracks` when shuffled; `None` plays them as listed.
    order: Option<Vec<u32>>,
    /// The place of the current context track in the play order; 0 when empty.
    cursor: usize,
}

impl PlayContext {
    pub fn new(uri: Option<String>, mut tracks: Vec<TrackRef>) -> PlayContext {
        tracks.truncate(MAX_CONTEXT_TRACKS);
        PlayContext { uri, tracks, order: None, cursor: 0 }
    }

    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The track at `index` of the list as given (not the play order).
    pub fn track(&self, index: usize) -> &TrackRef {
        &self.tracks[index]
    }

    /// The first place of `id` in the list as given.
    pub fn index_of(&self, id: Id) -> Option<usize> {
        self.tracks.iter().position(|track| track.id == id)
    }

    /// The index into `tracks` of the `place`-th track of the play order.
    fn track_index(&self, place: usize) -> usize {
        match &self.order {
            Some(order) => order[place] as usize,
            None => place,
        }
    }

    /// The context track at the cursor.
    pub fn current_track(&self) -> Option<&TrackRef> {
        (!self.tracks.is_empty()).then(|| &self.tracks[self.track_index(self.cursor)])
    }

    /// Puts the cursor on list index `start`; with `shuffle`, that track plays first and the
    /// others follow in a random order.
    pub fn start_at(&mut self, start: usize, shuffle: bool, entropy: u64) {
        if shuffle {
            self.order = Some(shuffled_order(self.tracks.len(), start, entropy));
            self.cursor = 0;
        } else {
            self.order = None;
            self.cursor = start;
        }
    }

    /// Turns shuffle on (the current track stays, the others get a random order) or off (the
    /// list order again, from the current track).
    pub fn set_shuffle(&mut self, on: bool, entropy: u64) {
        if self.tracks.is_empty() {
            self.order = None;
            return;
        }
        let current = self.track_index(self.cursor);
        self.start_at(current, on, entropy);
    }

    pub fn set_cursor(&mut self, place: usize) {
        debug_assert!(place < self.tracks.len());
        self.cursor = place;
    }

    /// What plays next. `queued`: the user queue is not empty (it comes first). `started`: the
    /// track at the cursor was already played. `wrap`: repeat context.
    pub fn peek_next(&self, queued: bool, started: bool, wrap: bool) -> Option<Step> {
        if queued {
            return Some(Step::Queue);
        }
        if self.tracks.is_empty() {
            return None;
        }
        if !started {
            return Some(Step::Context(self.cursor));
        }
        if self.cursor + 1 < self.tracks.len() {
            Some(Step::Context(self.cursor + 1))
        } else if wrap {
            Some(Step::Context(0))
        } else {
            None
        }
    }

    /// Moves the cursor one back (to the last track with `wrap`); false when it cannot.
    pub fn step_back(&mut self, wrap: bool) -> bool {
        if self.cursor > 0 {
            self.cursor -= 1;
            true
        } else if wrap && self.tracks.len() > 1 {
            self.cursor = self.tracks.len() - 1;
            true
        } else {
            false
        }
    }

    /// Back to the first track of the play order; `None` when empty.
    pub fn rewind(&mut self) -> Option<TrackRef> {
        self.cursor = 0;
        self.current_track().copied()
    }

    /// The tracks after the cursor in play order, wrapping around when `wrap`, at most `limit`.
    pub fn upcoming(&self, wrap: bool, limit: usize) -> impl Iterator<Item = &TrackRef> + Clone {
        let len = self.tracks.len();
        let after = len.saturating_sub(self.cursor + 1);
        let count = if wrap { len.saturating_sub(1) } else { after };
        (1..=count.min(limit)).map(move |step| &self.tracks[self.track_index((self.cursor + step) % len)])
    }

    /// The tracks before the cursor in play order (with the cursor's own when `including`),
    /// the last `limit` of them, oldest first.
    pub fn played(&self, including: bool, limit: usize) -> impl Iterator<Item = &TrackRef> + Clone {
        let end = if self.tracks.is_empty() { 0 } else { self.cursor + usize::from(including) };
        let start = end.saturating_sub(limit);
        (start..end).map(move |place| &self.tracks[self.track_index(place)])
    }

    /// Checks the internal consistency the rest of the session relies on (a snapshot read back
    /// is checked before it is trusted).
    pub fn check(&self) -> Result<(), String> {
        if !self.tracks.is_empty() && self.cursor >= self.tracks.len() {
            return Err(format!("cursor {} outside {} tracks", self.cursor, self.tracks.len()));
        }
        if let Some(order) = &self.order {
            let mut seen = vec![false; self.tracks.len()];
            for &index in order {
                let slot = seen.get_mut(index as usize).ok_or("order names a missing track")?;
                if std::mem::replace(slot, true) {
                    return Err("order repeats a track".into());
                }
            }
            if order.len() != self.tracks.len() {
                return Err("order is not a permutation".into());
            }
        }
        Ok(())
    }
}

/// A random order of `len` tracks that starts with `first`: the others shuffled by the seeded
/// generator keyed by `entropy` (never by the OS: the state machine stays pure), so the same
/// entropy gives the same order.
fn shuffled_order(len: usize, first: usize, entropy: u64) -> Vec<u32> {
    let mut order: Vec<u32> = (0..len as u32).collect();
    order.swap(0, first);
    if let Some(others) = order.get_mut(1..) {
        others.shuffle(&mut seeded_rng(entropy));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracks(n: u32) -> Vec<TrackRef> {
        (0..n).map(|i| TrackRef { id: Id::from_u128(u128::from(i)), duration_ms: 1000 + i }).collect()
    }

    #[test]
    fn a_shuffled_order_keeps_the_first_track_and_every_other() {
        for entropy in 0..50 {
            let order = shuffled_order(20, 7, entropy);
            assert_eq!(order[0], 7);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        }
        assert_eq!(shuffled_order(20, 0, 1), shuffled_order(20, 0, 1), "the same entropy, the same order");
        assert_ne!(shuffled_order(20, 0, 1), shuffled_order(20, 0, 2));
        assert_eq!(shuffled_order(1, 0, 9), [0]);
    }

    #[test]
    fn the_queue_views_follow_the_cursor_and_wrap_when_asked() {
        let mut context = PlayContext::new(None, tracks(5));
        context.start_at(3, false, 0);
        let ids = |it: Vec<&TrackRef>| it.iter().map(|t| t.duration_ms - 1000).collect::<Vec<_>>();
        assert_eq!(ids(context.upcoming(false, 50).collect()), [4]);
        assert_eq!(ids(context.upcoming(true, 50).collect()), [4, 0, 1, 2]);
        assert_eq!(ids(context.upcoming(true, 2).collect()), [4, 0]);
        assert_eq!(ids(context.played(false, 50).collect()), [0, 1, 2]);
        assert_eq!(ids(context.played(true, 2).collect()), [2, 3]);
        assert_eq!(context.peek_next(false, true, false), Some(Step::Context(4)));
        context.set_cursor(4);
        assert_eq!(context.peek_next(false, true, false), None);
        assert_eq!(context.peek_next(false, true, true), Some(Step::Context(0)));
        assert_eq!(context.peek_next(true, true, false), Some(Step::Queue));
    }

    #[test]
    fn shuffle_off_returns_to_the_list_order_at_the_current_track() {
        let mut context = PlayContext::new(None, tracks(10));
        context.start_at(6, true, 42);
        assert_eq!(context.current_track().unwrap().duration_ms, 1006);
        context.set_cursor(3);
        let playing = *context.current_track().unwrap();
        context.set_shuffle(false, 0);
        assert_eq!(*context.current_track().unwrap(), playing);
        assert_eq!(context.cursor(), (playing.duration_ms - 1000) as usize);
        context.check().unwrap();
    }
}
