//! Streaming: the qualities a user may stream at, the signed, expiring grants that streaming
//! URLs carry, and the audio behind them ([`wav`]).
//!
//! A grant names a track, a bitrate, a user and an expiry, and is signed with HMAC-SHA256
//! under a secret kept in the store (`stream-hmac`), so every process sharing the store issues
//! and accepts the same URLs. The origin serving the audio needs no token: the signature is the
//! authorization, and it is checked in constant time.

pub mod wav;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::Product;
use crate::ids::Id;
use crate::storage::{Store, StoreError};

/// How long a streaming URL is valid: one hour.
pub const URL_TTL_MS: u64 = 60 * 60 * 1000;
/// The highest bitrate a free user streams at.
pub const FREE_MAX_KBPS: u32 = 160;
/// Every bitrate a URL may carry.
pub const BITRATES_KBPS: [u32; 3] = [96, 160, 320];

/// A quality a client asks for (`?quality=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quality {
    /// 96 kbps.
    Low,
    /// 160 kbps, the default.
    #[default]
    Normal,
    /// 320 kbps.
    High,
    /// 320 kbps.
    VeryHigh,
}

impl Quality {
    /// Parses `low`, `normal`, `high` or `very_high` (any case).
    pub fn parse(text: &str) -> Option<Quality> {
        [("low", Quality::Low), ("normal", Quality::Normal), ("high", Quality::High), ("very_high", Quality::VeryHigh)]
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, quality)| quality)
    }

    /// The bitrate this quality names.
    pub const fn kbps(self) -> u32 {
        match self {
            Quality::Low => 96,
            Quality::Normal => 160,
            Quality::High | Quality::VeryHigh => 320,
        }
    }

    /// The bitrate a user of `product` gets for this quality: free users are capped at
    /// [`FREE_MAX_KBPS`].
    pub fn kbps_for(self, product: Product) -> u32 {
        match product {
            Product::Free => self.kbps().min(FREE_MAX_KBPS),
            Product::Premium => self.kbps(),
        }
    }
}

/// What a streaming URL grants: `user` may fetch `track` at `kbps` until `expires_at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub track: Id,
    pub kbps: u32,
    pub user: Id,
    /// Milliseconds since the epoch.
    pub expires_at_ms: u64,
}

/// Why a grant is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("the signature is malformed or does not match the URL")]
    BadSignature,
    #[error("the URL has expired")]
    Expired,
}

impl crate::error::ProtocolError for GrantError {
    fn code(&self) -> segue_protocol::ErrorCode {
        segue_protocol::ErrorCode::Forbidden
    }

    fn client_message(&self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            GrantError::BadSignature => "the signature does not match this track, quality and user",
            GrantError::Expired => "the URL has expired: ask for a new one",
        })
    }
}

crate::app_error_from!(GrantError);

/// Signs and checks grants under the store's streaming secret.
pub struct Streaming {
    mac: Hmac<Sha256>,
}

impl Streaming {
    /// Loads (or creates) the streaming secret from the store.
    pub async fn new(store: &Store) -> Result<Streaming, StoreError> {
        let secret = store.secret("stream-hmac", random_secret).await?;
        Ok(Streaming::with_secret(secret.as_bytes()))
    }

    /// Signs under `secret`.
    pub fn with_secret(secret: &[u8]) -> Streaming {
        Streaming { mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length") }
    }

    /// A grant of `track` at `kbps` to `user`, valid for [`URL_TTL_MS`] from `now_ms`.
    pub fn grant(&self, track: Id, kbps: u32, user: Id, now_ms: u64) -> Grant {
        Grant { track, kbps, user, expires_at_ms: now_ms.saturating_add(URL_TTL_MS) }
    }

    fn mac_of(&self, grant: &Grant) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(format!("{}|{}|{}|{}", grant.track, grant.kbps, grant.user, grant.expires_at_ms).as_bytes());
        mac
    }

    /// The signature of a grant: base64url (no padding) of HMAC-SHA256 over
    /// `track|kbps|user|expires_at_ms`.
    pub fn sign(&self, grant: &Grant) -> String {
        URL_SAFE_NO_PAD.encode(self.mac_of(grant).finalize().into_bytes())
    }

    /// Checks that `signature` signs exactly this grant (in constant time) and that it has not
    /// expired at `now_ms`.
    pub fn verify(&self, grant: &Grant, signature: &str, now_ms: u64) -> Result<(), GrantError> {
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| GrantError::BadSignature)?;
        self.mac_of(grant).verify_slice(&signature).map_err(|_| GrantError::BadSignature)?;
        if grant.expires_at_ms <= now_ms {
            return Err(GrantError::Expired);
        }
        Ok(())
    }
}

fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn ids() -> (Id, Id, Id) {
        (Id::from_u128(1), Id::from_u128(2), Id::from_u128(3))
    }

    #[test]
    fn a_signed_grant_verifies_until_it_expires() {
        let streaming = Streaming::with_secret(b"secret");
        let (track, user, _) = ids();
        let grant = streaming.grant(track, 160, user, NOW);
        assert_eq!(grant.expires_at_ms, NOW + 3_600_000);
        let signature = streaming.sign(&grant);
        assert_eq!(streaming.verify(&grant, &signature, NOW), Ok(()));
        assert_eq!(streaming.verify(&grant, &signature, grant.expires_at_ms - 1), Ok(()));
        assert_eq!(streaming.verify(&grant, &signature, grant.expires_at_ms), Err(GrantError::Expired));
        assert_eq!(streaming.verify(&grant, &signature, NOW + 10 * URL_TTL_MS), Err(GrantError::Expired));
        // URL-safe, no padding, so it goes in a query string as it is.
        assert!(signature.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn a_transplanted_signature_is_refused() {
        let streaming = Streaming::with_secret(b"secret");
        let (track, user, other) = ids();
        let grant = streaming.grant(track, 160, user, NOW);
        let signature = streaming.sign(&grant);
        let transplants = [
            Grant { track: other, ..grant },
            Grant { kbps: 320, ..grant },
            Grant { kbps: 96, ..grant },
            Grant { user: other, ..grant },
            Grant { expires_at_ms: grant.expires_at_ms + 1, ..grant },
            Grant { expires_at_ms: grant.expires_at_ms + URL_TTL_MS, ..grant },
        ];
        for transplant in transplants {
            assert_eq!(streaming.verify(&transplant, &signature, NOW), Err(GrantError::BadSignature), "{transplant:?}");
        }
        // Another server's key, a mangled or a missing signature.
        assert_eq!(Streaming::with_secret(b"other").verify(&grant, &signature, NOW), Err(GrantError::BadSignature));
        let mut flipped = signature.clone().into_bytes();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in ["", "!!", "abc", &flipped, &signature[..signature.len() - 2], &format!("{signature}AA")] {
            assert_eq!(streaming.verify(&grant, bad, NOW), Err(GrantError::BadSignature), "{bad:?}");
        }
    }

    #[test]
    fn a_grant_expired_and_forged_is_refused_as_forged() {
        // A signature over an old expiry does not verify for a new one, so an expired URL
        // cannot be revived by editing `e=`.
        let streaming = Streaming::with_secret(b"secret");
        let (track, user, _) = ids();
        let old = streaming.grant(track, 160, user, NOW - 2 * URL_TTL_MS);
        let signature = streaming.sign(&old);
        assert_eq!(streaming.verify(&old, &signature, NOW), Err(GrantError::Expired));
        let revived = Grant { expires_at_ms: NOW + URL_TTL_MS, ..old };
        assert_eq!(streaming.verify(&revived, &signature, NOW), Err(GrantError::BadSignature));
    }

    #[test]
    fn quality_names_and_the_free_cap() {
        assert_eq!(Quality::default(), Quality::Normal);
        assert_eq!(Quality::parse("very_high"), Some(Quality::VeryHigh));
        assert_eq!(Quality::parse("HIGH"), Some(Quality::High));
        for bad in ["", "ultra", "very-high", "320", "normal "] {
            assert_eq!(Quality::parse(bad), None, "{bad:?}");
        }
        let table = [
            (Quality::Low, 96, 96),
            (Quality::Normal, 160, 160),
            (Quality::High, 160, 320),
            (Quality::VeryHigh, 160, 320),
        ];
        for (quality, free, premium) in table {
            assert_eq!(quality.kbps_for(Product::Free), free, "{quality:?}");
            assert_eq!(quality.kbps_for(Product::Premium), premium, "{quality:?}");
            assert!(BITRATES_KBPS.contains(&free) && BITRATES_KBPS.contains(&premium));
        }
    }
}
