//! Streaming: signed, expiring audio URLs and the origin that serves the audio they point at.
//! (Being written: see issue 3.)

use crate::storage::{Store, StoreError};

/// What the streaming endpoints need: the URL signing key.
pub struct Streaming;

impl Streaming {
    pub async fn new(_store: &Store) -> Result<Streaming, StoreError> {
        Ok(Streaming)
    }
}
