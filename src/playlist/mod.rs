//! The collaborative playlist as a pure edit model: a playlist's details and items, the edits
//! the socket sends (protocol §6: `add`, `remove`, `move`, `rename`), and the Web API's
//! operations expressed as those edits ([`webapi`]). No I/O, no clock, no randomness: the time
//! and the editor are arguments, and uids are derived from the playlist's version.
//!
//! **How an edit applies.** The ops of one edit apply one after another, each against the
//! playlist as the previous one left it; positions are read against the playlist as it is at
//! that moment and clamped to its length. The whole edit works on a copy: when any op is
//! refused ([`EditError`]) the playlist is left exactly as it was; otherwise the copy replaces it
//! and, when anything changed, the version grows by one. Removing (or moving) a uid that is not
//! there is no error: someone else removed it first, and edits by several people compose.
//!
//! **Uids.** Every item gets a uid when it is added, stable for the life of the item and unique
//! in its playlist: the edit that makes version `v` names its `n`-th new item from `(v, n)`, and
//! versions only grow (the store fences every write on the version it read). An item imported
//! before this model (a random uid) keeps its uid; a derived uid that happened to equal one is
//! skipped.
//!
//! **What an edit answers.** The [`AppliedOp`]s: each op as it took effect, with the positions
//! it resolved to and the uids the server gave, in order. Replaying them on a replica that held
//! the same items ([`replay`]) gives the same order: that is what `playlist_changed` carries.
//! An op that changed nothing (a move to where the item already is, a removal of absent uids)
//! is left out; an edit that changed nothing answers no op and keeps the version.

pub mod webapi;

#[cfg(test)]
mod proptests;

use std::borrow::Cow;
use std::collections::HashSet;

use segue_protocol::ErrorCode;

use crate::error::ProtocolError;
use crate::ids::Id;

/// The most items a playlist may hold (the Web API's limit).
pub const MAX_ITEMS: usize = 10_000;
/// The longest playlist name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest playlist description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// One item of a playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub uid: Id,
    pub track_id: Id,
    /// Who added it (`None`: imported with no user).
    pub added_by: Option<Id>,
    pub added_at_ms: i64,
}

/// What a playlist is, besides its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub name: String,
    pub description: String,
    pub public: bool,
    pub collaborative: bool,
}

/// A playlist: who owns it, its version (grows with every edit that changed something), its
/// details and its items in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playlist {
    pub id: Id,
    pub owner: Id,
    pub version: i64,
    pub details: Details,
    pub items: Vec<Item>,
}

/// One op of an edit. Its serde form (by name) travels between cluster nodes, to the node
/// running the playlist's actor: add fields only with defaults.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// Insert these tracks at `position` (the end when absent), clamped to the length.
    Add { track_ids: Vec<Id>, position: Option<u32> },
    /// Remove the items with these uids; absent ones are ignored.
    Remove { uids: Vec<Id> },
    /// Move the item to `position`: the index it holds afterwards, clamped to the last one. An
    /// absent uid is ignored.
    Move { uid: Id, position: u32 },
    /// Rename the playlist.
    Rename { name: String },
    /// Change the other details (the Web API's `PUT /v1/playlists/{id}`); absent ones stay.
    SetDetails { description: Option<String>, public: Option<bool>, collaborative: Option<bool> },
}

/// An op as it took effect: what a replica applies to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppliedOp {
    /// These items, with their new uids, were inserted at `position` (absolute).
    Add {
        position: u32,
        items: Vec<Item>,
    },
    /// These uids (only those that were there) were removed.
    Remove {
        uids: Vec<Id>,
    },
    /// The item now stands at `position` (absolute).
    Move {
        uid: Id,
        position: u32,
    },
    Rename {
        name: String,
    },
    SetDetails {
        description: Option<String>,
        public: Option<bool>,
        collaborative: Option<bool>,
    },
}

/// Why an edit was refused (and changed nothing). Every one is the client's: `BAD_REQUEST`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("a playlist holds at most {MAX_ITEMS} items; this edit would make it {would_be}")]
    TooManyItems { would_be: usize },
    #[error("name must be 1..{MAX_NAME_CHARS} characters")]
    BadName,
    #[error("description must be at most {MAX_DESCRIPTION_CHARS} characters")]
    BadDescription,
    #[error("a collaborative playlist cannot be public")]
    PublicAndCollaborative,
    #[error("position {position} is out of range: the playlist has {length} items")]
    PositionOutOfRange { position: u64, length: usize },
    #[error("position {position} does not hold track {track}")]
    PositionMismatch { position: u32, track: Id },
    #[error("{0}")]
    Invalid(&'static str),
}

impl ProtocolError for EditError {
    fn code(&self) -> ErrorCode {
        ErrorCode::BadRequest
    }

    fn client_message(&self) -> Cow<'static, str> {
        Cow::Owned(self.to_string())
    }
}

crate::app_error_from!(EditError);

/// The outcome of an applied edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The ops as they took effect; empty when nothing changed.
    pub ops: Vec<AppliedOp>,
    /// The version before the edit.
    pub prev_version: i64,
}

impl Edited {
    pub fn changed(&self) -> bool {
        !self.ops.is_empty()
    }
}

/// The uid of the `n`-th item added by the edit that makes `version`.
fn derived_uid(version: i64, n: u64) -> Id {
    // The top bit marks derived uids; random ones have it set half the time, hence the check
    // against the playlist's uids where they are made.
    Id::from_u128((1u128 << 127) | (u128::from(version as u64) << 64) | u128::from(n))
}

fn check_name(name: &str) -> Result<(), EditError> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(EditError::BadName);
    }
    Ok(())
}

fn check_description(description: &str) -> Result<(), EditError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(EditError::BadDescription);
    }
    Ok(())
}

/// The working copy an edit changes.
struct Draft {
    items: Vec<Item>,
    details: Details,
    /// Uids in use, made only when the first add needs it.
    uids: Option<HashSet<Id>>,
    next_uid: u64,
    new_version: i64,
    by: Option<Id>,
    now_ms: i64,
    applied: Vec<AppliedOp>,
}

impl Draft {
    fn fresh_uid(&mut self) -> Id {
        let uids = self.uids.get_or_insert_with(|| self.items.iter().map(|item| item.uid).collect());
        loop {
            let uid = derived_uid(self.new_version, self.next_uid);
            self.next_uid += 1;
            if uids.insert(uid) {
                return uid;
            }
        }
    }

    fn index_of(&self, uid: Id) -> Option<usize> {
        self.items.iter().position(|item| item.uid == uid)
    }

    fn apply(&mut self, op: &Op) -> Result<(), EditError> {
        match op {
            Op::Add { track_ids, position } => {
                let would_be = self.items.len() + track_ids.len();
                if would_be > MAX_ITEMS {
                    return Err(EditError::TooManyItems { would_be });
                }
                if track_ids.is_empty() {
                    return Ok(());
                }
                let at = position.map_or(self.items.len(), |p| (p as usize).min(self.items.len()));
                let new_items: Vec<Item> = track_ids
                    .iter()
                    .map(|&track_id| Item {
                        uid: self.fresh_uid(),
                        track_id,
                        added_by: self.by,
                        added_at_ms: self.now_ms,
                    })
                    .collect();
                self.items.splice(at..at, new_items.iter().cloned());
                self.applied.push(AppliedOp::Add { position: at as u32, items: new_items });
            }
            Op::Remove { uids } => {
                let wanted: HashSet<Id> = uids.iter().copied().collect();
                let mut removed = Vec::new();
                self.items.retain(|item| {
                    let remove = wanted.contains(&item.uid);
                    if remove {
                        removed.push(item.uid);
                    }
                    !remove
                });
                if let Some(in_use) = &mut self.uids {
                    removed.iter().for_each(|uid| {
                        in_use.remove(uid);
                    });
                }
                if !removed.is_empty() {
                    self.applied.push(AppliedOp::Remove { uids: removed });
                }
            }
            Op::Move { uid, position } => {
                let Some(from) = self.index_of(*uid) else { return Ok(()) };
                let to = (*position as usize).min(self.items.len() - 1);
                if from != to {
                    let item = self.items.remove(from);
                    self.items.insert(to, item);
                    self.applied.push(AppliedOp::Move { uid: *uid, position: to as u32 });
                }
            }
            Op::Rename { name } => {
                check_name(name)?;
                if *name != self.details.name {
                    self.details.name = name.clone();
                    self.applied.push(AppliedOp::Rename { name: name.clone() });
                }
            }
            Op::SetDetails { description, public, collaborative } => {
                if let Some(description) = description {
                    check_description(description)?;
                }
                let before = self.details.clone();
                let description = description.clone().filter(|d| *d != before.description);
                let public = public.filter(|p| *p != before.public);
                let collaborative = collaborative.filter(|c| *c != before.collaborative);
                if let Some(description) = &description {
                    self.details.description = description.clone();
                }
                self.details.public = public.unwrap_or(before.public);
                self.details.collaborative = collaborative.unwrap_or(before.collaborative);
                if self.details.public && self.details.collaborative {
                    return Err(EditError::PublicAndCollaborative);
                }
                if description.is_some() || public.is_some() || collaborative.is_some() {
                    self.applied.push(AppliedOp::SetDetails { description, public, collaborative });
                }
            }
        }
        Ok(())
    }
}

impl Playlist {
    /// Applies the ops of one edit by `by` at `now_ms`, all or none (see the module doc).
    pub fn apply(&mut self, ops: &[Op], by: Option<Id>, now_ms: i64) -> Result<Edited, EditError> {
        let mut draft = Draft {
            items: self.items.clone(),
            details: self.details.clone(),
            uids: None,
            next_uid: 0,
            new_version: self.version + 1,
            by,
            now_ms,
            applied: Vec::new(),
        };
        for op in ops {
            draft.apply(op)?;
        }
        let Draft { items, details, applied, .. } = draft;
        let prev_version = self.version;
        if !applied.is_empty() {
            self.items = items;
            self.details = details;
            self.version += 1;
        }
        Ok(Edited { ops: applied, prev_version })
    }

    /// Whether `user` may edit the playlist: its owner, or (when it is collaborative) one of its
    /// `collaborators`.
    pub fn may_edit(&self, user: Id, is_collaborator: bool) -> bool {
        self.owner == user || (self.details.collaborative && is_collaborator)
    }
}

/// Applies ops as they took effect to a replica's items, as a subscriber following
/// `playlist_changed` does. Ops whose uids it does not hold are ignored, as the server would.
pub fn replay(items: &mut Vec<Item>, details: &mut Details, op: &AppliedOp) {
    match op {
        AppliedOp::Add { position, items: added } => {
            let at = (*position as usize).min(items.len());
            items.splice(at..at, added.iter().cloned());
        }
        AppliedOp::Remove { uids } => items.retain(|item| !uids.contains(&item.uid)),
        AppliedOp::Move { uid, position } => {
            if let Some(from) = items.iter().position(|item| item.uid == *uid) {
                let item = items.remove(from);
                let to = (*position as usize).min(items.len());
                items.insert(to, item);
            }
        }
        AppliedOp::Rename { name } => details.name = name.clone(),
        AppliedOp::SetDetails { description, public, collaborative } => {
            if let Some(description) = description {
                details.description = description.clone();
            }
            if let Some(public) = public {
                details.public = *public;
            }
            if let Some(collaborative) = collaborative {
                details.collaborative = *collaborative;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn playlist(tracks: u128) -> Playlist {
        let mut playlist = Playlist {
            id: Id::from_u128(1),
            owner: Id::from_u128(2),
            version: 0,
            details: Details { name: "Mix".into(), description: String::new(), public: true, collaborative: false },
            items: Vec::new(),
        };
        let track_ids = (0..tracks).map(|n| Id::from_u128(100 + n)).collect();
        playlist.apply(&[Op::Add { track_ids, position: None }], Some(Id::from_u128(2)), 5).unwrap();
        playlist
    }

    fn order(playlist: &Playlist) -> Vec<Id> {
        playlist.items.iter().map(|item| item.track_id).collect()
    }

    #[test]
    fn positions_are_clamped_and_read_against_the_playlist_as_each_op_left_it() {
        let mut p = playlist(3);
        let before: Vec<Id> = order(&p);
        let new = Id::from_u128(999);
        let edited = p
            .apply(
                &[Op::Add { track_ids: vec![new], position: Some(50) }, Op::Move { uid: p.items[0].uid, position: 99 }],
                None,
                7,
            )
            .unwrap();
        assert_eq!(order(&p), vec![before[1], before[2], new, before[0]]);
        assert_eq!(edited.ops.len(), 2);
        assert!(matches!(edited.ops[0], AppliedOp::Add { position: 3, .. }));
        assert!(matches!(edited.ops[1], AppliedOp::Move { position: 3, .. }));
        assert_eq!(p.version, 2);
    }

    #[test]
    fn a_refused_op_leaves_the_whole_edit_undone() {
        let mut p = playlist(3);
        let before = p.clone();
        let result = p.apply(&[Op::Remove { uids: vec![p.items[0].uid] }, Op::Rename { name: String::new() }], None, 7);
        assert_eq!(result, Err(EditError::BadName));
        assert_eq!(p, before);
    }

    #[test]
    fn past_ten_thousand_items_is_a_clear_error() {
        let mut p = playlist(9_999);
        let before = p.clone();
        let two = vec![Id::from_u128(1), Id::from_u128(2)];
        assert_eq!(
            p.apply(&[Op::Add { track_ids: two.clone(), position: None }], None, 1),
            Err(EditError::TooManyItems { would_be: 10_001 })
        );
        assert_eq!(p, before);
        p.apply(&[Op::Add { track_ids: two[..1].to_vec(), position: Some(0) }], None, 1).unwrap();
        assert_eq!(p.items.len(), MAX_ITEMS);
    }

    #[test]
    fn absent_uids_are_no_error_and_an_edit_that_changes_nothing_keeps_the_version() {
        let mut p = playlist(2);
        let edited = p
            .apply(
                &[
                    Op::Remove { uids: vec![Id::from_u128(5)] },
                    Op::Move { uid: Id::from_u128(6), position: 0 },
                    Op::Move { uid: p.items[0].uid, position: 0 },
                    Op::Rename { name: "Mix".into() },
                ],
                None,
                1,
            )
            .unwrap();
        assert!(!edited.changed());
        assert_eq!(p.version, 1);
    }

    #[test]
    fn uids_stay_with_their_items_and_derived_ones_skip_those_in_use() {
        let mut p = playlist(2);
        let first = p.items[0].clone();
        // An imported item whose random uid equals the next derived one.
        let clash = derived_uid(p.version + 1, 0);
        p.items.push(Item { uid: clash, track_id: Id::from_u128(7), added_by: None, added_at_ms: 0 });
        p.apply(&[Op::Add { track_ids: vec![Id::from_u128(8)], position: Some(0) }], None, 1).unwrap();
        assert_eq!(p.items[1], first);
        let uids: HashSet<Id> = p.items.iter().map(|item| item.uid).collect();
        assert_eq!(uids.len(), p.items.len());
    }

    #[test]
    fn details_cannot_make_a_collaborative_playlist_public() {
        let mut p = playlist(0);
        let result =
            p.apply(&[Op::SetDetails { description: None, public: Some(true), collaborative: Some(true) }], None, 1);
        assert_eq!(result, Err(EditError::PublicAndCollaborative));
        let ok = p
            .apply(
                &[Op::SetDetails { description: Some("d".into()), public: Some(false), collaborative: Some(true) }],
                None,
                1,
            )
            .unwrap();
        assert!(p.details.collaborative && !p.details.public);
        assert_eq!(ok.ops.len(), 1);
        assert!(p.may_edit(Id::from_u128(9), true));
        assert!(!p.may_edit(Id::from_u128(9), false));
    }
}
