//! Property-based fuzzing of the frame decoder, run with every test run: whatever bytes a
//! client sends, decoding never panics, and a frame is either a violation (not one MessagePack
//! map) or a request / a reply-worthy error, never anything in between. (`fuzz/` holds the
//! coverage-guided libFuzzer target for longer runs.)

use proptest::prelude::*;
use rmpv::Value;
use segue_protocol::envelope::encode_request;
use segue_protocol::{ClientFrame, ErrorCode, FrameViolation};

fn encode(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, value).unwrap();
    bytes
}

/// Any MessagePack value, nested a few levels, with the keys and strings the protocol uses
/// mixed in so that the generator reaches past the envelope into the bodies.
fn arb_value() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "type",
        "id",
        "body",
        "hello",
        "play",
        "seek",
        "volume",
        "transfer",
        "progress",
        "track_ended",
        "queue_add",
        "position_ms",
        "percent",
        "device_id",
        "uris",
        "context_uri",
        "offset",
        "state",
        "name",
        "device_type",
        "can_play",
        "supports_volume",
        "speaker",
        "off",
        "track",
        "segue:track:4iV5W9uYEdYUVa79Axb7Rh",
    ]);
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        words.prop_map(Value::from),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::from),
        (any::<i8>(), prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(tag, data)| Value::Ext(tag, data)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((inner.clone(), inner), 0..6).prop_map(Value::Map),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ClientFrame::decode(&bytes);
    }

    #[test]
    fn arbitrary_values_are_classified(value in arb_value()) {
        let decoded = ClientFrame::decode(&encode(&value));
        match (&value, decoded) {
            (Value::Map(_), Ok(_)) => {}
            (Value::Map(_), Err(violation)) => prop_assert!(false, "a map is an envelope: {violation}"),
            (_, Err(FrameViolation::NotAMap)) => {}
            (other, result) => prop_assert!(false, "{other} decoded as {result:?}"),
        }
    }

    #[test]
    fn envelopes_with_arbitrary_bodies_get_a_request_or_a_clear_error(
        kind in prop::sample::select(vec!["hello", "play", "pause", "seek", "next", "volume", "transfer", "progress",
            "track_ended", "queue_add", "repeat", "shuffle", "ping", "auth", "nonsense"]),
        id in any::<u32>(),
        body in arb_value(),
    ) {
        let frame = ClientFrame::decode(&encode_request(kind, id, &body)).expect("an envelope");
        prop_assert_eq!(frame.id, id);
        if let Err(error) = frame.request {
            prop_assert!(matches!(error.code, ErrorCode::BadRequest | ErrorCode::UnknownType));
            prop_assert!(!error.message.is_empty());
        }
    }

    #[test]
    fn corrupted_valid_frames_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut bytes = encode_request("play", 9, &serde_json_like_play());
        for (index, byte) in flips {
            let at = index.index(bytes.len());
            bytes[at] ^= byte;
        }
        let _ = ClientFrame::decode(&bytes);
        let truncated = &bytes[..bytes.len() / 2];
        let _ = ClientFrame::decode(truncated);
    }
}

fn serde_json_like_play() -> segue_protocol::request::Play {
    segue_protocol::request::Play {
        uris: Some(vec!["segue:track:4iV5W9uYEdYUVa79Axb7Rh".into(), "spotify:track:4iV5W9uYEdYUVa79Axb7Rh".into()]),
        context_uri: None,
        offset: Some(segue_protocol::request::Offset { position: Some(1), uri: None }),
        position_ms: Some(1_000),
        device_id: Some("kitchen".into()),
    }
}

#[test]
fn deeply_nested_values_are_refused_without_overflowing_the_stack() {
    // 60,000 nested one-element arrays inside a map: a frame well under 64 KiB.
    let mut bytes = vec![0x81, 0xa4, b'b', b'o', b'd', b'y'];
    bytes.extend(std::iter::repeat_n(0x91, 60_000));
    bytes.push(0xc0);
    assert!(ClientFrame::decode(&bytes).is_err());
    // A length prefix that promises far more than the frame holds.
    let lying = [0x81, 0xa4, b'b', b'o', b'd', b'y', 0xdb, 0xff, 0xff, 0xff, 0xff];
    assert!(ClientFrame::decode(&lying).is_err());
}
