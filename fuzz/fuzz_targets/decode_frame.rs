//! libFuzzer target: any bytes a client can send in a frame go through the decoder without a
//! panic, and a decoded frame's error is always one a reply can carry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segue_protocol::{ClientFrame, ErrorCode, MAX_FRAME_BYTES};

fuzz_target!(|bytes: &[u8]| {
    if bytes.len() > MAX_FRAME_BYTES {
        return;
    }
    if let Ok(frame) = ClientFrame::decode(bytes)
        && let Err(error) = frame.request
    {
        assert!(matches!(error.code, ErrorCode::BadRequest | ErrorCode::UnknownType));
    }
});
