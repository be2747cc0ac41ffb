//! The catalog's records as an import produces them and the store writes them: an artist with
//! its albums and tracks ([`ArtistBundle`]). Both the synthetic catalog generator and the import
//! of the songs dataset produce these; the store reads its own rows back in other shapes.

use crate::ids::Id;

/// An artist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistRecord {
    /// Unique within the catalog.
    pub id: Id,
    /// Display name, e.g. "Mira Castell" or "The Velvet Harbors".
    pub name: String,
    /// Genre names, most characteristic first (at most three).
    pub genres: Vec<String>,
    /// Popularity 0..=100.
    pub popularity: u8,
    pub followers: u32,
}

/// Spotify-style album type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlbumType {
    /// A full-length album (studio, double or live album).
    Album,
    /// A single or an EP (Spotify files EPs under "single" too).
    Single,
    /// A compilation of the artist's songs ("Greatest Hits" and the like).
    Compilation,
}

impl AlbumType {
    /// The lowercase wire name: `"album"`, `"single"` or `"compilation"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlbumType::Album => "album",
            AlbumType::Single => "single",
            AlbumType::Compilation => "compilation",
        }
    }
}

/// An album; all of its tracks belong to `artist_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumRecord {
    /// Unique within the catalog.
    pub id: Id,
    /// Id of the album's (only) artist.
    pub artist_id: Id,
    /// Album title; a single is named after its lead track.
    pub name: String,
    /// Album, single/EP or compilation.
    pub album_type: AlbumType,
    /// Release date as `"YYYY-MM-DD"` (the songs dataset also has `"YYYY"` and `"YYYY-MM"`).
    pub release_date: String,
    /// Record label name; empty when unknown.
    pub label: String,
    /// Popularity 0..=100.
    pub popularity: u8,
}

/// A track's audio features, in the ranges of Spotify's audio-features API.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFeatures {
    /// 0.0..=1.0
    pub danceability: f32,
    /// 0.0..=1.0
    pub energy: f32,
    /// Pitch class -1..=11 (-1: no key detected).
    pub key: i8,
    /// Loudness in dB, -60.0..=0.0 (mostly -14..-4).
    pub loudness: f32,
    /// 0 = minor, 1 = major.
    pub mode: u8,
    /// 0.0..=1.0
    pub speechiness: f32,
    /// 0.0..=1.0
    pub acousticness: f32,
    /// 0.0..=1.0
    pub instrumentalness: f32,
    /// 0.0..=1.0
    pub liveness: f32,
    /// 0.0..=1.0
    pub valence: f32,
    /// Beats per minute.
    pub tempo: f32,
    /// Beats per bar, 3..=5 (almost always 4).
    pub time_signature: u8,
}

/// A track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackRecord {
    /// Unique within the catalog.
    pub id: Id,
    /// Id of the album the track is on.
    pub album_id: Id,
    /// Id of the album's artist.
    pub artist_id: Id,
    /// Track title, possibly with a "(feat. …)", "- Live" or remix suffix.
    pub name: String,
    pub duration_ms: u32,
    /// Whether the track has explicit lyrics.
    pub explicit: bool,
    /// Popularity 0..=100.
    pub popularity: u8,
    /// Position within its disc, starting at 1.
    pub track_number: u32,
    /// Disc number, starting at 1.
    pub disc_number: u32,
    /// 12-character ISRC (`CC` + 3 alphanumerics + 2-digit year + 5 digits); empty when unknown.
    pub isrc: String,
    /// `None`: available everywhere; otherwise the ISO country codes where it is.
    pub available_markets: Option<Vec<String>>,
    pub features: AudioFeatures,
}

/// One artist with all of its albums and tracks: the unit an import writes.
///
/// Albums are in release order; tracks are grouped by album in the same order,
/// and by disc and track number within an album.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtistBundle {
    /// The artist.
    pub artist: ArtistRecord,
    /// The artist's albums, oldest first.
    pub albums: Vec<AlbumRecord>,
    /// The tracks of all of `albums`.
    pub tracks: Vec<TrackRecord>,
}
