//! Collaborative playlists over the socket (protocol §6): the bodies of `playlist_subscribe`,
//! `playlist_unsubscribe` and `playlist_edit` with their validation, the playlist a subscribe
//! answers, and the `playlist_changed` event with the ops as the server applied them.
//!
//! An op of `playlist_changed` carries what a replica needs to follow exactly, beyond the
//! request's fields: an `add` its absolute `position`, the `uids` the server gave and who added
//! them when; a `move` the index the item holds afterwards. A `details` op (Segue's own) tells
//! of a description, `public` or `collaborative` change made over REST; clients that do not
//! know it may ignore it (it never changes the items).

use serde::{Deserialize, Serialize};

use crate::request::{MAX_ID_CHARS, Validate};

/// The most ops one `playlist_edit` may carry.
pub const MAX_EDIT_OPS: usize = 100;
/// The most track ids (or uids) one op may name.
pub const MAX_OP_IDS: usize = 1_000;
/// The longest playlist name, in characters.
pub const MAX_PLAYLIST_NAME_CHARS: usize = 200;

/// `playlist_subscribe` and `playlist_unsubscribe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistTarget {
    pub playlist_id: String,
}

fn check_id(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_ID_CHARS {
        return Err(format!("{field} must be 1..{MAX_ID_CHARS} characters"));
    }
    Ok(())
}

fn check_ids(field: &str, values: &[String]) -> Result<(), String> {
    if values.len() > MAX_OP_IDS {
        return Err(format!("at most {MAX_OP_IDS} {field} in one op, got {}", values.len()));
    }
    values.iter().try_for_each(|value| check_id(field, value))
}

impl Validate for PlaylistTarget {
    fn validate(&self) -> Result<(), String> {
        check_id("playlist_id", &self.playlist_id)
    }
}

/// One op of `playlist_edit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum EditOp {
    /// Insert tracks (ids or `segue:track:` / `spotify:track:` URIs) at `position`, or at the end.
    Add {
        track_ids: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<u32>,
    },
    /// Remove the items with these uids (absent ones are no error).
    Remove { uids: Vec<String> },
    /// Move an item to `position`, the index it holds afterwards (clamped).
    Move { uid: String, position: u32 },
    /// Rename the playlist.
    Rename { name: String },
}

/// `playlist_edit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistEdit {
    pub playlist_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_snapshot_id: Option<String>,
    /// Refuse the edit with `CONFLICT` unless `base_snapshot_id` is the current snapshot.
    #[serde(default)]
    pub strict: bool,
    pub ops: Vec<EditOp>,
}

impl Validate for PlaylistEdit {
    fn validate(&self) -> Result<(), String> {
        check_id("playlist_id", &self.playlist_id)?;
        if let Some(base) = &self.base_snapshot_id {
            check_id("base_snapshot_id", base)?;
        } else if self.strict {
            return Err("strict needs a base_snapshot_id".into());
        }
        if self.ops.is_empty() || self.ops.len() > MAX_EDIT_OPS {
            return Err(format!("ops must hold 1..{MAX_EDIT_OPS} ops, got {}", self.ops.len()));
        }
        for op in &self.ops {
            match op {
                EditOp::Add { track_ids, .. } => {
                    if track_ids.is_empty() {
                        return Err("an add needs at least one track id".into());
                    }
                    check_ids("track_ids", track_ids)?;
                }
                EditOp::Remove { uids } => check_ids("uids", uids)?,
                EditOp::Move { uid, .. } => check_id("uid", uid)?,
                EditOp::Rename { name } => {
                    let chars = name.chars().count();
                    if name.trim().is_empty() || chars > MAX_PLAYLIST_NAME_CHARS || name.chars().any(char::is_control) {
                        return Err(format!("name must be 1..{MAX_PLAYLIST_NAME_CHARS} characters"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// One item of a playlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistItem {
    pub uid: String,
    pub track_id: String,
    pub added_by: Option<String>,
    pub added_at_ms: i64,
}

/// The reply to `playlist_subscribe`: the whole playlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistView {
    pub playlist_id: String,
    pub name: String,
    pub snapshot_id: String,
    pub collaborative: bool,
    pub items: Vec<PlaylistItem>,
    /// Segue's own, beside the contract's fields.
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub public: bool,
    /// Whether the subscriber may edit it.
    #[serde(default)]
    pub may_edit: bool,
}

/// The reply to `playlist_edit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotReply {
    pub snapshot_id: String,
}

/// An op as the server applied it, in `playlist_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AppliedOp {
    Add {
        track_ids: Vec<String>,
        position: u32,
        uids: Vec<String>,
        added_by: Option<String>,
        added_at_ms: i64,
    },
    Remove {
        uids: Vec<String>,
    },
    Move {
        uid: String,
        position: u32,
    },
    Rename {
        name: String,
    },
    Details {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collaborative: Option<bool>,
    },
}

/// The body of `playlist_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistChanged {
    pub playlist_id: String,
    pub snapshot_id: String,
    pub prev_snapshot_id: String,
    pub by_user_id: String,
    pub ops: Vec<AppliedOp>,
}

/// The body of `playlist_unsubscribed` (Segue's own): the server ended this connection's
/// subscription to a playlist it may no longer see (made private, or a collaborator removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaylistUnsubscribed {
    pub playlist_id: String,
    /// Why: `"no_access"`.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(ops: Vec<EditOp>) -> PlaylistEdit {
        PlaylistEdit { playlist_id: "p".into(), base_snapshot_id: None, strict: false, ops }
    }

    fn map(entries: Vec<(&str, rmpv::Value)>) -> rmpv::Value {
        rmpv::Value::Map(entries.into_iter().map(|(k, v)| (rmpv::Value::from(k), v)).collect())
    }

    fn encode(value: &rmpv::Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, value).unwrap();
        bytes
    }

    #[test]
    fn ops_decode_by_their_op_field_and_are_validated() {
        let add = map(vec![
            ("op", "add".into()),
            ("track_ids", rmpv::Value::Array(vec!["a".into()])),
            ("position", 2.into()),
        ]);
        let rename = map(vec![("op", "rename".into()), ("name", "New".into())]);
        let body = map(vec![("playlist_id", "p".into()), ("ops", rmpv::Value::Array(vec![add, rename]))]);
        let parsed: PlaylistEdit = rmp_serde::from_slice(&encode(&body)).unwrap();
        assert_eq!(
            parsed.ops,
            vec![EditOp::Add { track_ids: vec!["a".into()], position: Some(2) }, EditOp::Rename { name: "New".into() }]
        );
        assert_eq!(parsed.validate(), Ok(()));
        let all = edit(vec![EditOp::Remove { uids: vec!["u".into()] }, EditOp::Move { uid: "u".into(), position: 0 }]);
        let back: PlaylistEdit = rmp_serde::from_slice(&rmp_serde::to_vec_named(&all).unwrap()).unwrap();
        assert_eq!(back, all);
        assert!(edit(vec![]).validate().is_err(), "no ops");
        assert!(edit(vec![EditOp::Add { track_ids: vec![], position: None }]).validate().is_err());
        assert!(edit(vec![EditOp::Rename { name: " ".into() }]).validate().is_err());
        assert!(edit(vec![EditOp::Remove { uids: vec!["u".into(); MAX_OP_IDS + 1] }]).validate().is_err());
        let strict = PlaylistEdit { strict: true, ..edit(vec![EditOp::Rename { name: "x".into() }]) };
        assert!(strict.validate().is_err(), "strict without a base");
        let unknown = map(vec![
            ("playlist_id", "p".into()),
            ("ops", rmpv::Value::Array(vec![map(vec![("op", "shuffle".into())])])),
        ]);
        assert!(rmp_serde::from_slice::<PlaylistEdit>(&encode(&unknown)).is_err());
    }
}
