//! The Web API's playlist operations expressed as [`Op`]s: adding URIs at a position, removing
//! by URI (every occurrence, or at given positions), reordering a range, replacing every item
//! and changing the details. Each becomes the ops of one edit, so REST edits compose with socket
//! edits and reach the socket's subscribers as the same `playlist_changed` ops.
//!
//! **A `snapshot_id` that is not the current one.** The Web API reads positions against the
//! snapshot a client names; this server keeps no old snapshots, so it decides by what the edit
//! needs ([`WebEdit::ops`]'s `base_is_current`):
//! - removing by URI without positions removes every occurrence now: the snapshot changes
//!   nothing of what that means, so a stale one is accepted;
//! - removing at positions is applied when every named position still holds its URI (the
//!   positions match the snapshot on those items), and is refused with `400` otherwise, as the
//!   Web API refuses positions that do not match;
//! - a reorder names positions only, which cannot be checked: a stale snapshot is refused with
//!   `409 CONFLICT`, and the client reads the playlist again;
//! - adding, replacing and details do not read positions of the past (an add's `position` is
//!   read against the playlist as it is, as on the socket).

use super::{EditError, Op, Playlist};
use crate::ids::Id;

/// One URI to remove, at every occurrence or only at these positions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoveTrack {
    pub track: Id,
    pub positions: Option<Vec<u32>>,
}

/// A Web API edit of a playlist (its serde form travels between cluster nodes, like [`Op`]'s).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WebEdit {
    /// `POST /v1/playlists/{id}/tracks`.
    Add { tracks: Vec<Id>, position: Option<u32> },
    /// `DELETE /v1/playlists/{id}/tracks`.
    Remove { tracks: Vec<RemoveTrack> },
    /// `PUT /v1/playlists/{id}/tracks` with `range_start`.
    Reorder { range_start: u32, insert_before: u32, range_length: u32 },
    /// `PUT /v1/playlists/{id}/tracks` with `uris`.
    Replace { tracks: Vec<Id> },
    /// `PUT /v1/playlists/{id}`.
    Details { name: Option<String>, description: Option<String>, public: Option<bool>, collaborative: Option<bool> },
}

/// Why a Web API edit was refused before any op was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebEditError {
    /// Bad input: `400`.
    Edit(EditError),
    /// A stale snapshot for an edit that needs the current one: `409 CONFLICT`.
    StaleSnapshot,
}

impl From<EditError> for WebEditError {
    fn from(error: EditError) -> WebEditError {
        WebEditError::Edit(error)
    }
}

impl WebEdit {
    /// The ops of this edit against `playlist` as it is; `base_is_current` is false when the
    /// request named a snapshot that is no longer the current one.
    pub fn ops(&self, playlist: &Playlist, base_is_current: bool) -> Result<Vec<Op>, WebEditError> {
        let length = playlist.items.len();
        match self {
            WebEdit::Add { tracks, position } => Ok(vec![Op::Add { track_ids: tracks.clone(), position: *position }]),
            WebEdit::Remove { tracks } => {
                let mut uids = Vec::new();
                for remove in tracks {
                    match &remove.positions {
                        None => uids.extend(
                            playlist.items.iter().filter(|item| item.track_id == remove.track).map(|item| item.uid),
                        ),
                        Some(positions) => {
                            for &position in positions {
                                let item = playlist
                                    .items
                                    .get(position as usize)
                                    .ok_or(EditError::PositionOutOfRange { position: u64::from(position), length })?;
                                if item.track_id != remove.track {
                                    return Err(EditError::PositionMismatch { position, track: remove.track }.into());
                                }
                                uids.push(item.uid);
                            }
                        }
                    }
                }
                Ok(vec![Op::Remove { uids }])
            }
            WebEdit::Reorder { range_start, insert_before, range_length } => {
                if !base_is_current {
                    return Err(WebEditError::StaleSnapshot);
                }
                let (start, before, count) = (*range_start as usize, *insert_before as usize, *range_length as usize);
                if count == 0 {
                    return Err(EditError::Invalid("range_length must be at least 1").into());
                }
                if start >= length || start + count > length {
                    let position = u64::from(*range_start) + u64::from(*range_length) - 1;
                    return Err(EditError::PositionOutOfRange {
                        position: position.max(u64::from(*range_start)),
                        length,
                    }
                    .into());
                }
                if before > length {
                    return Err(EditError::PositionOutOfRange { position: u64::from(*insert_before), length }.into());
                }
                if (start..=start + count).contains(&before) {
                    return Ok(Vec::new());
                }
                let block = &playlist.items[start..start + count];
                // Moving earlier: the block's items in order, each to the next index after the
                // one before. Moving later: from its last item back, each to the index before.
                Ok(if before < start {
                    block
                        .iter()
                        .enumerate()
                        .map(|(n, item)| Op::Move { uid: item.uid, position: (before + n) as u32 })
                        .collect()
                } else {
                    let first = before - count;
                    block
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(n, item)| Op::Move { uid: item.uid, position: (first + n) as u32 })
                        .collect()
                })
            }
            WebEdit::Replace { tracks } => Ok(vec![
                Op::Remove { uids: playlist.items.iter().map(|item| item.uid).collect() },
                Op::Add { track_ids: tracks.clone(), position: Some(0) },
            ]),
            WebEdit::Details { name, description, public, collaborative } => {
                let mut ops = Vec::new();
                if let Some(name) = name {
                    ops.push(Op::Rename { name: name.clone() });
                }
                if description.is_some() || public.is_some() || collaborative.is_some() {
                    ops.push(Op::SetDetails {
                        description: description.clone(),
                        public: *public,
                        collaborative: *collaborative,
                    });
                }
                Ok(ops)
            }
        }
    }
}

/// The Web API's reorder done directly on a list: the reference the ops are checked against.
#[cfg(test)]
pub(super) fn reorder_reference<T: Clone>(list: &[T], start: usize, before: usize, count: usize) -> Vec<T> {
    if (start..=start + count).contains(&before) {
        return list.to_vec();
    }
    let block: Vec<T> = list[start..start + count].to_vec();
    let mut rest: Vec<T> = list[..start].iter().chain(&list[start + count..]).cloned().collect();
    let at = if before > start { before - count } else { before };
    rest.splice(at..at, block);
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playlist::tests::playlist;

    fn order(playlist: &Playlist) -> Vec<Id> {
        playlist.items.iter().map(|item| item.track_id).collect()
    }

    #[test]
    fn a_reorder_moves_the_range_before_the_given_index_either_way() {
        for (start, before, count) in [(0, 4, 2), (3, 0, 2), (1, 5, 3), (4, 1, 1), (0, 5, 5), (2, 2, 1), (2, 3, 1)] {
            let mut p = playlist(5);
            let expected = reorder_reference(&order(&p), start, before, count);
            let edit = WebEdit::Reorder {
                range_start: start as u32,
                insert_before: before as u32,
                range_length: count as u32,
            };
            let ops = edit.ops(&p, true).unwrap();
            p.apply(&ops, None, 1).unwrap();
            assert_eq!(order(&p), expected, "reorder {start} {before} {count}");
        }
    }

    #[test]
    fn a_reorder_out_of_range_or_on_a_stale_snapshot_is_refused() {
        let p = playlist(3);
        let reorder =
            |range_start, insert_before, range_length| WebEdit::Reorder { range_start, insert_before, range_length };
        assert!(matches!(
            reorder(3, 0, 1).ops(&p, true),
            Err(WebEditError::Edit(EditError::PositionOutOfRange { .. }))
        ));
        assert!(matches!(
            reorder(1, 0, 3).ops(&p, true),
            Err(WebEditError::Edit(EditError::PositionOutOfRange { .. }))
        ));
        assert!(matches!(
            reorder(0, 4, 1).ops(&p, true),
            Err(WebEditError::Edit(EditError::PositionOutOfRange { .. }))
        ));
        assert!(matches!(reorder(0, 2, 0).ops(&p, true), Err(WebEditError::Edit(EditError::Invalid(_)))));
        assert_eq!(reorder(0, 2, 1).ops(&p, false), Err(WebEditError::StaleSnapshot));
    }

    #[test]
    fn removing_by_uri_takes_every_occurrence_or_the_given_positions_when_they_match() {
        let mut p = playlist(3);
        let again = p.items[1].track_id;
        p.apply(&[Op::Add { track_ids: vec![again, again], position: None }], None, 1).unwrap();
        // Items: t0 t1 t2 t1 t1.
        let every = WebEdit::Remove { tracks: vec![RemoveTrack { track: again, positions: None }] };
        assert_eq!(
            every.ops(&p, false).unwrap(),
            vec![Op::Remove { uids: vec![p.items[1].uid, p.items[3].uid, p.items[4].uid] }]
        );
        let at = WebEdit::Remove { tracks: vec![RemoveTrack { track: again, positions: Some(vec![3]) }] };
        assert_eq!(at.ops(&p, false).unwrap(), vec![Op::Remove { uids: vec![p.items[3].uid] }]);
        let wrong = WebEdit::Remove { tracks: vec![RemoveTrack { track: again, positions: Some(vec![2]) }] };
        assert!(matches!(
            wrong.ops(&p, true),
            Err(WebEditError::Edit(EditError::PositionMismatch { position: 2, .. }))
        ));
        let beyond = WebEdit::Remove { tracks: vec![RemoveTrack { track: again, positions: Some(vec![9]) }] };
        assert!(matches!(beyond.ops(&p, true), Err(WebEditError::Edit(EditError::PositionOutOfRange { .. }))));
    }

    #[test]
    fn replace_gives_every_item_a_new_uid() {
        let mut p = playlist(3);
        let old: Vec<Id> = p.items.iter().map(|item| item.uid).collect();
        let tracks = vec![Id::from_u128(7), p.items[0].track_id];
        let ops = WebEdit::Replace { tracks: tracks.clone() }.ops(&p, true).unwrap();
        p.apply(&ops, None, 1).unwrap();
        assert_eq!(order(&p), tracks);
        assert!(p.items.iter().all(|item| !old.contains(&item.uid)));
    }
}
