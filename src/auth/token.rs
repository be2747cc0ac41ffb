//! Signed, expiring tokens: compact JWTs (RFC 7519) signed with HMAC-SHA256 under a secret kept
//! in the store, so every process sharing the store issues and accepts the same tokens.
//!
//! Only HS256 is ever issued or accepted; the header is fixed and checked byte for byte, so no
//! `alg` games are possible. (A JWT crate would bring RSA and elliptic-curve code for nothing:
//! HMAC and SHA-256 are the RustCrypto crates the streaming URLs need anyway.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// `{"alg":"HS256","typ":"JWT"}`, base64url.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// The claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    pub typ: TokenKind,
    /// The user's token version when issued; a token of an older version is revoked.
    pub ver: i64,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token signature is wrong")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is of the wrong kind")]
    WrongKind,
}

/// Issues and checks tokens under one secret.
#[derive(Clone)]
pub struct TokenKeys {
    mac: Hmac<Sha256>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> TokenKeys {
        TokenKeys { mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length") }
    }

    fn signature(&self, signed_part: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(signed_part.as_bytes());
        mac
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims always serialize");
        let signed_part = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = self.signature(&signed_part).finalize().into_bytes();
        format!("{signed_part}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Checks the signature, the kind and the expiry (at `now_s`), and returns the claims.
    pub fn verify(&self, token: &str, kind: TokenKind, now_s: u64) -> Result<Claims, TokenError> {
        let (signed_part, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signed_part.split_once('.').ok_or(TokenError::Malformed)?;
        if header != HEADER {
            return Err(TokenError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
        self.signature(signed_part).verify_slice(&signature).map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.typ != kind {
            return Err(TokenError::WrongKind);
        }
        if claims.exp <= now_s {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims { sub: "u1".into(), iat: 100, exp, typ: TokenKind::Access, ver: 0 }
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let keys = TokenKeys::new(b"secret");
        let token = keys.issue(&claims(200));
        assert_eq!(keys.verify(&token, TokenKind::Access, 199), Ok(claims(200)));
        assert_eq!(keys.verify(&token, TokenKind::Access, 200), Err(TokenError::Expired));
        assert_eq!(keys.verify(&token, TokenKind::Refresh, 150), Err(TokenError::WrongKind));
    }

    #[test]
    fn a_forged_or_mangled_token_is_refused() {
        let keys = TokenKeys::new(b"secret");
        let token = keys.issue(&claims(200));
        assert_eq!(TokenKeys::new(b"other").verify(&token, TokenKind::Access, 150), Err(TokenError::BadSignature));
        let (signed, _) = token.rsplit_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(9_999)).unwrap());
        let forged = format!("{HEADER}.{forged_payload}.{}", token.rsplit_once('.').unwrap().1);
        assert_eq!(keys.verify(&forged, TokenKind::Access, 150), Err(TokenError::BadSignature));
        for bad in ["", "a.b", "a.b.c", &format!("{signed}.!!"), &token.replacen(HEADER, "eyJhbGciOiJub25lIn0", 1)] {
            assert!(keys.verify(bad, TokenKind::Access, 150).is_err(), "{bad}");
        }
    }
}
