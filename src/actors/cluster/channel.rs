//! The messages on a user's channel (`segue:{u:ID}:events`), the one thing every node holding a
//! device of the user receives: a `state` event, another event, a close for one connection, or
//! (tag 4, added with friend activity) a change of the users they follow, which each node
//! applies to the user's live activity subscriptions.
//!
//! **Format 1**, the layout since cluster mode began (Segue 69c7daf included): a tag byte that
//! names the kind, the connection it is for (0: every connection of the user), then the kind's
//! own fields. It is binary rather than MessagePack because it carries an already encoded frame
//! that every node forwards untouched, and it is on the path of every state. The tag is the
//! format's version too: a later layout takes new tags, and a node drops a message whose tag it
//! does not know (counted, and logged at most once a minute by the dispatcher), so nodes of
//! both versions can share a channel during a rolling upgrade as long as the newer one still
//! writes format 1 to the older.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::actors::bus::Audience;
use crate::actors::hub::{LocalHub, OutFrame};
use crate::ids::Id;

/// Tags of format 1.
const TAG_STATE: u8 = 1;
const TAG_EVENT: u8 = 2;
const TAG_CLOSE: u8 = 3;
/// Added with friend activity: the user followed or unfollowed users. Its fields: the
/// connection (0), a byte (1: followed, 0: unfollowed), then the users' ids, 22 bytes each.
/// A node that does not know the tag drops it (counted), as format 1 says.
const TAG_FOLLOWS: u8 = 4;

/// Encodes a follow (`following`) or an unfollow of `users` for the follower's channel.
pub fn encode_follows(following: bool, users: &[Id]) -> Bytes {
    let mut out = BytesMut::with_capacity(10 + users.len() * crate::ids::ID_LEN);
    out.put_u8(TAG_FOLLOWS);
    out.put_u64(0);
    out.put_u8(u8::from(following));
    for user in users {
        out.extend_from_slice(user.as_str().as_bytes());
    }
    out.freeze()
}

/// Decodes a follow or an unfollow; `None` for any other message or a malformed one.
pub fn decode_follows(payload: &[u8]) -> Option<(bool, Vec<Id>)> {
    let (&tag, rest) = payload.split_first()?;
    if tag != TAG_FOLLOWS || rest.len() < 9 {
        return None;
    }
    let (following, ids) = (rest[8], &rest[9..]);
    if following > 1 || ids.is_empty() || ids.len() % crate::ids::ID_LEN != 0 {
        return None;
    }
    let users = ids
        .chunks(crate::ids::ID_LEN)
        .map(|id| std::str::from_utf8(id).ok().and_then(Id::parse))
        .collect::<Option<Vec<Id>>>()?;
    Some((following == 1, users))
}

/// Encodes a frame for a user's channel.
pub fn encode(audience: Audience, frame: &OutFrame) -> Bytes {
    let connection = match audience {
        Audience::User => 0,
        Audience::Connection(connection) => connection,
    };
    let mut out = BytesMut::with_capacity(32);
    match frame {
        OutFrame::State { seq, frame } | OutFrame::Resync { seq, frame } => {
            out.put_u8(TAG_STATE);
            out.put_u64(connection);
            out.put_u64(*seq);
            out.extend_from_slice(frame);
        }
        OutFrame::Event(frame) => {
            out.put_u8(TAG_EVENT);
            out.put_u64(connection);
            out.extend_from_slice(frame);
        }
        OutFrame::Close { code, reason } => {
            out.put_u8(TAG_CLOSE);
            out.put_u64(connection);
            out.put_u16(*code);
            out.extend_from_slice(reason.as_bytes());
        }
    }
    out.freeze()
}

/// Close reasons are the server's own static texts; these travel by name.
const KNOWN_CLOSE_REASONS: &[&str] = &["replaced", "session restarted", "token revoked"];

/// Decodes a frame from a user's channel; `None` for anything malformed or of an unknown tag.
pub fn decode(mut payload: Bytes) -> Option<(Audience, OutFrame)> {
    if payload.len() < 9 {
        return None;
    }
    let tag = payload.get_u8();
    let audience = match payload.get_u64() {
        0 => Audience::User,
        connection => Audience::Connection(connection),
    };
    let frame = match tag {
        TAG_STATE if payload.len() >= 8 => {
            let seq = payload.get_u64();
            OutFrame::State { seq, frame: payload }
        }
        TAG_EVENT => OutFrame::Event(payload),
        TAG_CLOSE if payload.len() >= 2 => {
            let code = payload.get_u16();
            let reason = KNOWN_CLOSE_REASONS
                .iter()
                .find(|known| known.as_bytes() == &payload[..])
                .copied()
                .unwrap_or("closed by the server");
            OutFrame::Close { code, reason }
        }
        _ => return None,
    };
    Some((audience, frame))
}

/// Delivers a message from a user's channel to this node's connections of that user; false when
/// it could not be read.
pub fn deliver(hub: &LocalHub, user: Id, payload: Bytes) -> bool {
    match decode(payload) {
        Some((Audience::User, frame)) => hub.deliver_to_user(user, Arc::new(frame)),
        Some((Audience::Connection(connection), frame)) => hub.deliver_to_connection(user, connection, Arc::new(frame)),
        None => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let state = OutFrame::State { seq: 7, frame: Bytes::from_static(b"state bytes") };
        let (audience, decoded) = decode(encode(Audience::User, &state)).unwrap();
        assert_eq!(audience, Audience::User);
        assert!(matches!(decoded, OutFrame::State { seq: 7, ref frame } if &frame[..] == b"state bytes"));

        let close = OutFrame::Close { code: 4001, reason: "replaced" };
        let (audience, decoded) = decode(encode(Audience::Connection(9), &close)).unwrap();
        assert_eq!(audience, Audience::Connection(9));
        assert!(matches!(decoded, OutFrame::Close { code: 4001, reason: "replaced" }));

        for garbage in [&b""[..], b"\x01", b"\x09\0\0\0\0\0\0\0\0xyz", b"\x01\0\0\0\0\0\0\0\0\0"] {
            assert!(decode(Bytes::copy_from_slice(garbage)).is_none(), "{garbage:?}");
        }
    }

    proptest::proptest! {
        /// What Redis hands the dispatcher is read defensively: any bytes, never a panic.
        #[test]
        fn any_bytes_decode_or_are_refused_without_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode_follows(&bytes);
            let _ = decode(Bytes::from(bytes));
        }
    }

    #[test]
    fn follows_round_trip_and_are_no_frame() {
        let users = [Id::from_u128(1), Id::from_u128(2)];
        let message = encode_follows(true, &users);
        assert_eq!(decode_follows(&message), Some((true, users.to_vec())));
        assert_eq!(decode_follows(&encode_follows(false, &users[..1])), Some((false, users[..1].to_vec())));
        assert!(decode(message.clone()).is_none(), "older code drops it as an unknown tag");
        assert_eq!(decode_follows(&message[..message.len() - 1]), None);
        assert_eq!(decode_follows(&encode(Audience::User, &OutFrame::Event(Bytes::from_static(b"x")))), None);
        let mut bad = message.to_vec();
        bad[9] = 7;
        assert_eq!(decode_follows(&bad), None);
    }

    #[test]
    fn messages_written_by_69c7daf_are_read() {
        let state = include_bytes!("../../../tests/fixtures/channel-state-69c7daf.bin");
        let (audience, frame) = decode(Bytes::from_static(state)).unwrap();
        assert_eq!(audience, Audience::User);
        let OutFrame::State { seq, frame } = frame else { panic!("a state") };
        assert_eq!(seq, 15);
        let event = segue_protocol::ServerFrame::decode(&frame).unwrap();
        assert_eq!((event.kind.as_str(), event.seq), ("state", Some(15)));
        // The same bytes again from this version.
        let again = encode(Audience::User, &OutFrame::State { seq, frame });
        assert_eq!(&again[..], &state[..]);

        let close = include_bytes!("../../../tests/fixtures/channel-close-69c7daf.bin");
        let (audience, frame) = decode(Bytes::from_static(close)).unwrap();
        assert_eq!(audience, Audience::Connection((5 << 32) | 9));
        assert!(matches!(frame, OutFrame::Close { code: 4001, reason: "replaced" }));
    }
}
