//! Ids and URIs: the 22-character base62 id of every catalog object, playlist and user, and the
//! `segue:<kind>:<id>` / `spotify:<kind>:<id>` URIs that name them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length of every id.
pub const ID_LEN: usize = 22;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 22-character base62 id, stored inline (no allocation), so a context of thousands of
/// tracks is one flat array.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; ID_LEN]);

impl Id {
    /// Parses an id; `None` unless it is exactly 22 characters of `[0-9A-Za-z]`.
    pub fn parse(text: &str) -> Option<Id> {
        let bytes: [u8; ID_LEN] = text.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_alphanumeric).then_some(Id(bytes))
    }

    /// The id whose base62 digits spell `value` (left-padded with zeros).
    pub fn from_u128(mut value: u128) -> Id {
        let mut bytes = [b'0'; ID_LEN];
        for slot in bytes.iter_mut().rev() {
            *slot = BASE62[(value % 62) as usize];
            value /= 62;
            if value == 0 {
                break;
            }
        }
        Id(bytes)
    }

    /// The number whose base62 digits this id spells, when it fits in 128 bits (every id made by
    /// [`Id::from_u128`] does): the inverse of `from_u128`.
    pub fn to_u128(&self) -> Option<u128> {
        self.0.iter().try_fold(0u128, |value, &digit| {
            let digit = BASE62.iter().position(|&b| b == digit)? as u128;
            value.checked_mul(62)?.checked_add(digit)
        })
    }

    /// A fresh random id.
    pub fn random() -> Id {
        Id::from_u128(rand::random::<u128>())
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics ever get in (see `parse` and `from_u128`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.as_str())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Id::parse(&text).ok_or_else(|| serde::de::Error::custom("expected a 22-character base62 id"))
    }
}

/// What a URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UriKind {
    Track,
    Album,
    Artist,
    Playlist,
    User,
}

impl UriKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            UriKind::Track => "track",
            UriKind::Album => "album",
            UriKind::Artist => "artist",
            UriKind::Playlist => "playlist",
            UriKind::User => "user",
        }
    }

    fn parse(text: &str) -> Option<UriKind> {
        Some(match text {
            "track" => UriKind::Track,
            "album" => UriKind::Album,
            "artist" => UriKind::Artist,
            "playlist" => UriKind::Playlist,
            "user" => UriKind::User,
            _ => return None,
        })
    }
}

/// A parsed `segue:<kind>:<id>` or `spotify:<kind>:<id>` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uri {
    pub kind: UriKind,
    pub id: Id,
}

impl Uri {
    pub fn new(kind: UriKind, id: Id) -> Uri {
        Uri { kind, id }
    }

    /// Parses a URI in either scheme; `None` for anything else.
    pub fn parse(text: &str) -> Option<Uri> {
        let mut parts = text.split(':');
        let scheme = parts.next()?;
        if scheme != "segue" && scheme != "spotify" {
            return None;
        }
        let kind = UriKind::parse(parts.next()?)?;
        let id = Id::parse(parts.next()?)?;
        parts.next().is_none().then_some(Uri { kind, id })
    }

    /// Parses a track reference as clients send it: a bare id or a track URI in either scheme.
    pub fn parse_track(text: &str) -> Option<Id> {
        if let Some(id) = Id::parse(text) {
            return Some(id);
        }
        Uri::parse(text).filter(|uri| uri.kind == UriKind::Track).map(|uri| uri.id)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segue:{}:{}", self.kind.as_str(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_base62_characters() {
        assert!(Id::parse("4iV5W9uYEdYUVa79Axb7Rh").is_some());
        assert!(Id::parse("4iV5W9uYEdYUVa79Axb7R").is_none(), "21 characters");
        assert!(Id::parse("4iV5W9uYEdYUVa79Axb7Rh1").is_none(), "23 characters");
        assert!(Id::parse("4iV5W9uYEdYUVa79Axb7R-").is_none());
        assert!(Id::parse("4iV5W9uYEdYUVa79Axb7Ré").is_none());
        assert_eq!(Id::from_u128(0).as_str(), "0000000000000000000000");
        assert_eq!(Id::from_u128(61).as_str(), "000000000000000000000z");
        assert_eq!(Id::from_u128(62).as_str(), "0000000000000000000010");
        // 62^22 > 2^128: every u128 fits in 22 digits.
        assert_eq!(Id::from_u128(u128::MAX).as_str(), "7n42DGM5Tflk9n8mt7Fhc7");
        assert_ne!(Id::random(), Id::random());
    }

    #[test]
    fn both_uri_schemes_are_accepted() {
        let id = Id::parse("4iV5W9uYEdYUVa79Axb7Rh").unwrap();
        assert_eq!(Uri::parse("segue:track:4iV5W9uYEdYUVa79Axb7Rh"), Some(Uri::new(UriKind::Track, id)));
        assert_eq!(Uri::parse("spotify:album:4iV5W9uYEdYUVa79Axb7Rh"), Some(Uri::new(UriKind::Album, id)));
        assert_eq!(Uri::parse("spotify:album:4iV5W9uYEdYUVa79Axb7Rh:x"), None);
        assert_eq!(Uri::parse("apple:track:4iV5W9uYEdYUVa79Axb7Rh"), None);
        assert_eq!(Uri::parse("segue:song:4iV5W9uYEdYUVa79Axb7Rh"), None);
        assert_eq!(Uri::parse_track("4iV5W9uYEdYUVa79Axb7Rh"), Some(id));
        assert_eq!(Uri::parse_track("spotify:track:4iV5W9uYEdYUVa79Axb7Rh"), Some(id));
        assert_eq!(Uri::parse_track("segue:album:4iV5W9uYEdYUVa79Axb7Rh"), None);
        assert_eq!(Uri::new(UriKind::Playlist, id).to_string(), "segue:playlist:4iV5W9uYEdYUVa79Axb7Rh");
    }

    #[test]
    fn ids_serialize_as_strings() {
        let id = Id::parse("4iV5W9uYEdYUVa79Axb7Rh").unwrap();
        let bytes = rmp_serde::to_vec_named(&id).unwrap();
        assert_eq!(rmp_serde::from_slice::<String>(&bytes).unwrap(), id.as_str());
        assert_eq!(rmp_serde::from_slice::<Id>(&bytes).unwrap(), id);
        let bad = rmp_serde::to_vec_named("nope").unwrap();
        assert!(rmp_serde::from_slice::<Id>(&bad).is_err());
    }
}
