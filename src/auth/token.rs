//! Signed, expiring tokens: compact JWTs (RFC 7519) signed with HMAC-SHA256 under a secret kept
//! in the store, so every process sharing the store issues and accepts the same tokens.
//!
//! The `jsonwebtoken` crate (its RustCrypto backend) encodes, decodes and checks the signature.
//! Only HS256 is ever issued or accepted: [`Validation`] lists that one algorithm, so a token
//! whose header names any other (`none`, HS384, RS256 signed with the secret as a "public key",
//! …) is refused before any signature is computed. The expiry is checked here rather than by the
//! crate, against the caller's clock and with no leeway: a token is dead at its `exp` second (the
//! crate's own check reads the system clock and still accepts a token during its `exp` second).
//! Tokens written by the hand-rolled code this replaced (the same claims, header
//! `{"alg":"HS256","typ":"JWT"}`, the same secret) verify unchanged, and the tokens issued here
//! carry that very header, byte for byte ([`HEADER`]): Segue 69c7daf checked it byte for byte,
//! so during a rolling upgrade an old node accepts the new nodes' tokens. (The crate's `encode`
//! would write `{"typ":"JWT","alg":"HS256"}`; the signature is still the crate's, over the same
//! `header.payload` it would sign.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};

/// `{"alg":"HS256","typ":"JWT"}`, base64url: the header of every token issued.
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
    #[error("the token is not signed with HS256")]
    WrongAlgorithm,
    #[error("the token signature is wrong")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is of the wrong kind")]
    WrongKind,
}

impl crate::error::ProtocolError for TokenError {
    fn code(&self) -> segue_protocol::ErrorCode {
        segue_protocol::ErrorCode::Unauthorized
    }

    fn client_message(&self) -> std::borrow::Cow<'static, str> {
        format!("invalid token: {self}").into()
    }
}

crate::app_error_from!(TokenError);

/// Issues and checks tokens under one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Keys for `secret` (the store's, never empty).
    pub fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` must be there (and a number); its value is checked in `verify`, with no leeway.
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = false;
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret).expect("the token secret is not empty"),
            decoding: DecodingKey::from_secret(secret).expect("the token secret is not empty"),
            validation,
        }
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims always serialize");
        let signed = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = jsonwebtoken::crypto::sign(signed.as_bytes(), &self.encoding, Algorithm::HS256)
            .expect("HS256 with a non-empty secret signs anything");
        format!("{signed}.{signature}")
    }

    /// Checks the algorithm, the signature, the kind and the expiry (at `now_s`), and returns
    /// the claims.
    pub fn verify(&self, token: &str, kind: TokenKind, now_s: u64) -> Result<Claims, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm | ErrorKind::UnsupportedAlgorithm => {
                    TokenError::WrongAlgorithm
                }
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })?
            .claims;
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
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Sha256, Sha384};

    use super::*;

    /// `{"alg":"HS256","typ":"JWT"}`, base64url: the fixed header of the hand-rolled tokens.
    const OLD_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

    fn claims(exp: u64) -> Claims {
        Claims { sub: "u1".into(), iat: 100, exp, typ: TokenKind::Access, ver: 0 }
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token signed over `header.payload` with HMAC-SHA256 under `secret`, as the old code did.
    fn hs256(secret: &[u8], header: &str, payload: &str) -> String {
        let signed = format!("{header}.{payload}");
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(signed.as_bytes());
        format!("{signed}.{}", b64(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let keys = TokenKeys::new(b"secret");
        let token = keys.issue(&claims(200));
        assert_eq!(keys.verify(&token, TokenKind::Access, 199), Ok(claims(200)));
        // No leeway: dead at its `exp` second.
        assert_eq!(keys.verify(&token, TokenKind::Access, 200), Err(TokenError::Expired));
        assert_eq!(keys.verify(&token, TokenKind::Refresh, 150), Err(TokenError::WrongKind));
    }

    #[test]
    fn a_forged_or_mangled_token_is_refused() {
        let keys = TokenKeys::new(b"secret");
        let token = keys.issue(&claims(200));
        assert_eq!(TokenKeys::new(b"other").verify(&token, TokenKind::Access, 150), Err(TokenError::BadSignature));
        let (header, rest) = token.split_once('.').unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        // Longer-lived claims under the old signature.
        let forged = format!("{header}.{}.{signature}", b64(serde_json::to_vec(&claims(9_999)).unwrap()));
        assert_eq!(keys.verify(&forged, TokenKind::Access, 150), Err(TokenError::BadSignature));
        let flipped = format!("{signed}.{}", b64([0u8; 32]));
        assert_eq!(keys.verify(&flipped, TokenKind::Access, 150), Err(TokenError::BadSignature));
        for bad in
            ["", "a.b", "a.b.c", "...", &format!("{signed}.!!"), &format!("{signed}.{rest}"), &format!("{token}.x")]
        {
            assert!(keys.verify(bad, TokenKind::Access, 150).is_err(), "{bad}");
        }
        // A payload without `exp` or `sub`, correctly signed, is not a token of ours.
        for payload in
            [r#"{"sub":"u1","iat":1,"typ":"access","ver":0}"#, r#"{"iat":1,"exp":200,"typ":"access","ver":0}"#]
        {
            let unsigned = hs256(b"secret", OLD_HEADER, &b64(payload));
            assert_eq!(keys.verify(&unsigned, TokenKind::Access, 150), Err(TokenError::Malformed), "{payload}");
        }
    }

    #[test]
    fn a_token_of_the_hand_rolled_code_still_verifies() {
        let payload = b64(serde_json::to_vec(&claims(200)).unwrap());
        let old = hs256(b"secret", OLD_HEADER, &payload);
        let keys = TokenKeys::new(b"secret");
        assert_eq!(keys.verify(&old, TokenKind::Access, 150), Ok(claims(200)));
        assert_eq!(keys.verify(&old, TokenKind::Access, 200), Err(TokenError::Expired));
        assert_eq!(TokenKeys::new(b"other").verify(&old, TokenKind::Access, 150), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_naming_another_algorithm_is_refused() {
        let keys = TokenKeys::new(b"secret");
        let payload = b64(serde_json::to_vec(&claims(200)).unwrap());
        // `none`, with and without a signature.
        let none = b64(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{none}.{payload}."), TokenKind::Access, 150).is_err());
        let forged_none = hs256(b"secret", &none, &payload);
        assert!(keys.verify(&forged_none, TokenKind::Access, 150).is_err());
        // Another HMAC, correctly computed under the real secret: still refused.
        let hs384 = b64(r#"{"alg":"HS384","typ":"JWT"}"#);
        let signed = format!("{hs384}.{payload}");
        let mut mac = Hmac::<Sha384>::new_from_slice(b"secret").unwrap();
        mac.update(signed.as_bytes());
        let token = format!("{signed}.{}", b64(mac.finalize().into_bytes()));
        assert_eq!(keys.verify(&token, TokenKind::Access, 150), Err(TokenError::WrongAlgorithm));
        // The classic confusion: an asymmetric alg, "verified" with the HMAC secret as its key.
        for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
            let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let token = hs256(b"secret", &header, &payload);
            assert_eq!(keys.verify(&token, TokenKind::Access, 150), Err(TokenError::WrongAlgorithm), "{alg}");
        }
        // The same claims under HS256 are fine: only the header made the difference.
        assert_eq!(keys.verify(&hs256(b"secret", OLD_HEADER, &payload), TokenKind::Access, 150), Ok(claims(200)));
    }
}
