//! The Web API's object shapes: tracks, albums, artists, users, devices, paging objects. Field
//! for field what the Spotify Web API sends, so existing clients (spotipy, rspotify) read them.

use std::collections::BTreeMap;

use segue_protocol::DeviceState;
use serde::Serialize;

use crate::domain::Viewer;
use crate::ids::{Id, UriKind};
use crate::storage::catalog::{AlbumRef, AlbumRow, ArtistRef, ArtistRow, TrackRow};
use crate::storage::playlists::PlaylistRow;

/// Builds hrefs and URIs under one base URL.
#[derive(Debug, Clone)]
pub struct Links {
    pub base: String,
}

impl Links {
    pub fn new(base: String) -> Links {
        Links { base }
    }

    /// `{base}/v1/{collection}/{id}`.
    pub fn href(&self, kind: UriKind, id: Id) -> String {
        let collection = match kind {
            UriKind::Track => "tracks",
            UriKind::Album => "albums",
            UriKind::Artist => "artists",
            UriKind::Playlist => "playlists",
            UriKind::User => "users",
        };
        format!("{}/v1/{collection}/{id}", self.base)
    }

    pub fn external_urls(&self, kind: UriKind, id: Id) -> BTreeMap<&'static str, String> {
        BTreeMap::from([("segue", self.href(kind, id))])
    }
}

fn uri(kind: UriKind, id: Id) -> String {
    crate::ids::Uri::new(kind, id).to_string()
}

/// An image of an album, artist or user. Segue's catalog has none yet.
#[derive(Debug, Serialize)]
pub struct Image {
    pub url: String,
    pub height: Option<u32>,
    pub width: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct SimplifiedArtist {
    pub external_urls: BTreeMap<&'static str, String>,
    pub href: String,
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uri: String,
}

pub fn simplified_artist(links: &Links, artist: &ArtistRef) -> SimplifiedArtist {
    SimplifiedArtist {
        external_urls: links.external_urls(UriKind::Artist, artist.id),
        href: links.href(UriKind::Artist, artist.id),
        id: artist.id.to_string(),
        name: artist.name.clone(),
        kind: "artist",
        uri: uri(UriKind::Artist, artist.id),
    }
}

#[derive(Debug, Serialize)]
pub struct SimplifiedAlbum {
    pub album_type: String,
    pub total_tracks: u32,
    pub external_urls: BTreeMap<&'static str, String>,
    pub href: String,
    pub id: String,
    pub images: Vec<Image>,
    pub name: String,
    pub release_date: String,
    pub release_date_precision: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uri: String,
    pub artists: Vec<SimplifiedArtist>,
}

fn date_precision(date: &str) -> &'static str {
    match date.len() {
        4 => "year",
        7 => "month",
        _ => "day",
    }
}

pub fn simplified_album(links: &Links, album: &AlbumRef, artist: &ArtistRef) -> SimplifiedAlbum {
    SimplifiedAlbum {
        album_type: album.album_type.clone(),
        total_tracks: album.total_tracks,
        external_urls: links.external_urls(UriKind::Album, album.id),
        href: links.href(UriKind::Album, album.id),
        id: album.id.to_string(),
        images: Vec::new(),
        name: album.name.clone(),
        release_date: album.release_date.clone(),
        release_date_precision: date_precision(&album.release_date),
        kind: "album",
        uri: uri(UriKind::Album, album.id),
        artists: vec![simplified_artist(links, artist)],
    }
}

/// A simplified track object (inside an album), and the core of the full one.
#[derive(Debug, Serialize)]
pub struct SimplifiedTrack {
    pub artists: Vec<SimplifiedArtist>,
    pub disc_number: u32,
    pub duration_ms: u32,
    pub explicit: bool,
    pub external_urls: BTreeMap<&'static str, String>,
    pub href: String,
    pub id: String,
    pub is_local: bool,
    pub is_playable: bool,
    pub name: String,
    pub preview_url: Option<String>,
    pub track_number: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uri: String,
}

pub fn simplified_track(links: &Links, row: &TrackRow, country: &str) -> SimplifiedTrack {
    SimplifiedTrack {
        artists: vec![simplified_artist(links, &row.artist)],
        disc_number: row.disc_number,
        duration_ms: row.duration_ms,
        explicit: row.explicit,
        external_urls: links.external_urls(UriKind::Track, row.id),
        href: links.href(UriKind::Track, row.id),
        id: row.id.to_string(),
        is_local: false,
        is_playable: row.is_playable_in(country),
        name: row.name.clone(),
        preview_url: None,
        track_number: row.track_number,
        kind: "track",
        uri: uri(UriKind::Track, row.id),
    }
}

/// A full track object: the simplified one with its album, ISRC and popularity.
#[derive(Debug, Serialize)]
pub struct Track {
    #[serde(flatten)]
    pub simplified: SimplifiedTrack,
    pub album: SimplifiedAlbum,
    pub external_ids: BTreeMap<&'static str, String>,
    pub popularity: u8,
}

/// The track object for a user in `country` (`is_playable` depends on it).
pub fn track(links: &Links, row: &TrackRow, country: &str) -> Track {
    Track {
        simplified: simplified_track(links, row, country),
        album: simplified_album(links, &row.album, &row.artist),
        external_ids: row.isrc.iter().map(|isrc| ("isrc", isrc.clone())).collect(),
        popularity: row.popularity,
    }
}

/// A full album object, with the first page of its tracks.
#[derive(Debug, Serialize)]
pub struct Album {
    #[serde(flatten)]
    pub simplified: SimplifiedAlbum,
    pub tracks: Paging<SimplifiedTrack>,
    pub copyrights: Vec<BTreeMap<&'static str, String>>,
    pub external_ids: BTreeMap<&'static str, String>,
    pub genres: Vec<String>,
    pub label: String,
    pub popularity: u8,
}

pub fn album(links: &Links, row: &AlbumRow, tracks: Paging<SimplifiedTrack>) -> Album {
    Album {
        simplified: simplified_album(links, &row.album, &row.artist),
        tracks,
        copyrights: Vec::new(),
        external_ids: BTreeMap::new(),
        genres: Vec::new(),
        label: row.label.clone(),
        popularity: row.popularity,
    }
}

#[derive(Debug, Serialize)]
pub struct Followers {
    pub href: Option<String>,
    pub total: u64,
}

/// A full artist object.
#[derive(Debug, Serialize)]
pub struct Artist {
    pub external_urls: BTreeMap<&'static str, String>,
    pub followers: Followers,
    pub genres: Vec<String>,
    pub href: String,
    pub id: String,
    pub images: Vec<Image>,
    pub name: String,
    pub popularity: u8,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uri: String,
}

pub fn artist(links: &Links, row: &ArtistRow) -> Artist {
    Artist {
        external_urls: links.external_urls(UriKind::Artist, row.id),
        followers: Followers { href: None, total: u64::from(row.followers) },
        genres: row.genres.clone(),
        href: links.href(UriKind::Artist, row.id),
        id: row.id.to_string(),
        images: Vec::new(),
        name: row.name.clone(),
        popularity: row.popularity,
        kind: "artist",
        uri: uri(UriKind::Artist, row.id),
    }
}

#[derive(Debug, Serialize)]
pub struct ExplicitContent {
    pub filter_enabled: bool,
    pub filter_locked: bool,
}

/// The current user's own user object (`GET /v1/me`).
#[derive(Debug, Serialize)]
pub struct PrivateUser {
    pub country: String,
    pub display_name: String,
    pub email: Option<String>,
    pub explicit_content: ExplicitContent,
    pub external_urls: BTreeMap<&'static str, String>,
    pub followers: Followers,
    pub href: String,
    pub id: String,
    pub images: Vec<Image>,
    pub product: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uri: String,
    /// Segue's own: the login name.
    pub username: String,
}

pub fn private_user(links: &Links, user: &Viewer) -> PrivateUser {
    PrivateUser {
        country: user.country.clone(),
        display_name: user.display_name.clone(),
        email: None,
        explicit_content: ExplicitContent { filter_enabled: false, filter_locked: false },
        external_urls: links.external_urls(UriKind::User, user.id),
        followers: Followers { href: None, total: 0 },
        href: links.href(UriKind::User, user.id),
        id: user.id.to_string(),
        images: Vec::new(),
        product: user.product.as_str(),
        kind: "user",
        uri: uri(UriKind::User, user.id),
        username: user.username.clone(),
    }
}

/// Another user's public user object (also a playlist's `owner`).
#[derive(Debug, Serialize)]
pub struct PublicUser {
    pub display_name: String,
    pub external_urls: BTreeMap<&'static str, String>,
    pub followers: Option<Followers>,
    pub href: String,
    pub id: String,
    pub images: Vec<Image>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uri: String,
}

/// The public user object of `id`; `followers` when known.
pub fn public_user(links: &Links, id: Id, display_name: &str, followers: Option<u64>) -> PublicUser {
    PublicUser {
        display_name: display_name.to_string(),
        external_urls: links.external_urls(UriKind::User, id),
        followers: followers.map(|total| Followers { href: None, total }),
        href: links.href(UriKind::User, id),
        id: id.to_string(),
        images: Vec::new(),
        kind: "user",
        uri: uri(UriKind::User, id),
    }
}

/// Where a playlist's items are and how many there are.
#[derive(Debug, Serialize)]
pub struct ItemsRef {
    pub href: String,
    pub total: u64,
}

/// A simplified playlist object. It carries its items reference under both names the Web API
/// has used (`tracks`, and `items` since 2026), for clients of either age.
#[derive(Debug, Serialize)]
pub struct SimplifiedPlaylist {
    pub collaborative: bool,
    pub description: String,
    pub external_urls: BTreeMap<&'static str, String>,
    pub href: String,
    pub id: String,
    pub images: Vec<Image>,
    pub name: String,
    pub owner: PublicUser,
    pub public: bool,
    pub snapshot_id: String,
    pub tracks: ItemsRef,
    pub items: ItemsRef,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uri: String,
}

pub fn simplified_playlist(links: &Links, row: &PlaylistRow) -> SimplifiedPlaylist {
    let items_href = format!("{}/tracks", links.href(UriKind::Playlist, row.id));
    SimplifiedPlaylist {
        collaborative: row.collaborative,
        description: row.description.clone(),
        external_urls: links.external_urls(UriKind::Playlist, row.id),
        href: links.href(UriKind::Playlist, row.id),
        id: row.id.to_string(),
        images: Vec::new(),
        name: row.name.clone(),
        owner: public_user(links, row.owner_id, &row.owner_name, None),
        public: row.public,
        snapshot_id: row.snapshot_id.clone(),
        tracks: ItemsRef { href: items_href.clone(), total: row.total_items },
        items: ItemsRef { href: items_href, total: row.total_items },
        kind: "playlist",
        uri: uri(UriKind::Playlist, row.id),
    }
}

/// One item of a playlist: the track under both names (`track`, and `item` since 2026).
#[derive(Debug, Serialize)]
pub struct PlaylistItem {
    pub added_at: String,
    pub added_by: Option<PublicUser>,
    pub is_local: bool,
    pub track: Option<Track>,
    pub item: Option<Track>,
}

/// A track saved in the library.
#[derive(Debug, Serialize)]
pub struct SavedTrack {
    pub added_at: String,
    pub track: Track,
}

/// An album saved in the library.
#[derive(Debug, Serialize)]
pub struct SavedAlbum {
    pub added_at: String,
    pub album: Album,
}

/// An RFC 3339 timestamp with milliseconds, as the Web API writes `added_at`.
pub fn timestamp(at_ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at_ms.max(0) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

/// A device object.
#[derive(Debug, Serialize)]
pub struct Device {
    pub id: String,
    pub is_active: bool,
    pub is_private_session: bool,
    pub is_restricted: bool,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub volume_percent: Option<u8>,
    pub supports_volume: bool,
}

pub fn device(state: &DeviceState) -> Device {
    Device {
        id: state.device_id.clone(),
        is_active: state.is_active,
        is_private_session: state.is_private_session,
        is_restricted: !state.can_play,
        name: state.name.clone(),
        kind: state.device_type.web_api_name(),
        volume_percent: state.volume_percent,
        supports_volume: state.supports_volume,
    }
}

/// A paging object.
#[derive(Debug, Serialize)]
pub struct Paging<T> {
    pub href: String,
    pub items: Vec<T>,
    pub limit: u32,
    pub next: Option<String>,
    pub offset: u32,
    pub previous: Option<String>,
    pub total: u64,
}

/// Page `offset`/`limit` of `total`, with absolute links built from `url` (the endpoint's own
/// URL with every parameter but `offset` and `limit`).
pub fn paging<T>(url: &str, items: Vec<T>, offset: u32, limit: u32, total: u64) -> Paging<T> {
    let separator = if url.contains('?') { '&' } else { '?' };
    let link = |offset: u32| format!("{url}{separator}offset={offset}&limit={limit}");
    let next = (u64::from(offset) + u64::from(limit) < total).then(|| link(offset + limit));
    let previous = (offset > 0).then(|| link(offset.saturating_sub(limit)));
    Paging { href: link(offset), items, limit, next, offset, previous, total }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_are_absolute_and_stop_at_the_ends() {
        let first = paging::<u8>("http://h/v1/search?q=x", vec![], 0, 20, 45);
        assert_eq!(first.href, "http://h/v1/search?q=x&offset=0&limit=20");
        assert_eq!(first.next.as_deref(), Some("http://h/v1/search?q=x&offset=20&limit=20"));
        assert_eq!(first.previous, None);
        let last = paging::<u8>("http://h/v1/albums/a/tracks", vec![], 40, 20, 45);
        assert_eq!(last.next, None);
        assert_eq!(last.previous.as_deref(), Some("http://h/v1/albums/a/tracks?offset=20&limit=20"));
        let odd = paging::<u8>("http://h/x", vec![], 5, 20, 45);
        assert_eq!(odd.previous.as_deref(), Some("http://h/x?offset=0&limit=20"));
    }
}
