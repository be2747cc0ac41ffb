//! Resolving what a client names into tracks a session can play: track ids and URIs, album,
//! artist and playlist contexts (a private playlist only for those who may see it), offsets,
//! and the user's country.

use std::collections::HashMap;

use segue_protocol::ErrorCode;
use segue_protocol::request::Play;

use crate::domain::Viewer;
use crate::error::{AppError, AppResult};
use crate::ids::{Id, Uri, UriKind};
use crate::player::context::MAX_CONTEXT_TRACKS;
use crate::player::{PlaySource, StartAt, TrackRef};
use crate::storage::Store;
use crate::storage::catalog::TrackRow;

/// How many of an artist's top tracks an artist context plays.
const ARTIST_CONTEXT_TRACKS: u32 = 10;

/// Resolves client references against the catalog in the store.
#[derive(Clone)]
pub struct Resolver {
    store: Store,
}

fn unavailable() -> AppError {
    AppError::new(ErrorCode::TrackUnavailable, "that track is not available in your country")
}

/// Parses a track reference: a bare id, or a track URI in either scheme.
pub fn parse_track_ref(text: &str) -> AppResult<Id> {
    Uri::parse_track(text).ok_or_else(|| {
        let shown: String = text.chars().take(80).collect();
        AppError::bad_request(format!("not a track id or track URI: {shown:?}"))
    })
}

impl Resolver {
    pub fn new(store: Store) -> Resolver {
        Resolver { store }
    }

    /// One track the user may play.
    pub async fn playable(&self, reference: &str, country: &str) -> AppResult<TrackRef> {
        let mut tracks = self.uris(std::slice::from_ref(&reference.to_string()), country).await?;
        tracks.pop().ok_or_else(AppError::internal)
    }

    /// What a `play` starts: `None` when it names neither uris nor a context (resume).
    pub async fn play_source(&self, play: &Play, user: &Viewer) -> AppResult<Option<PlaySource>> {
        let country = user.country.as_str();
        let (context_uri, tracks) = match (&play.uris, &play.context_uri) {
            (Some(uris), _) => (None, self.uris(uris, country).await?),
            (None, Some(context)) => (Some(context.clone()), self.context(context, user).await?),
            (None, None) => return Ok(None),
        };
        let start = match &play.offset {
            None => StartAt::Beginning,
            Some(offset) => match (&offset.uri, offset.position) {
                (Some(uri), _) => StartAt::Track(parse_track_ref(uri)?),
                (None, Some(position)) => StartAt::Index(position),
                (None, None) => StartAt::Beginning,
            },
        };
        // The context URI is kept as sent but in Segue's scheme, so every device sees one form.
        let context_uri = context_uri.and_then(|uri| Uri::parse(&uri)).map(|uri| uri.to_string());
        Ok(Some(PlaySource { context_uri, tracks, start }))
    }

    /// Plain uris: every one must exist and be playable here.
    async fn uris(&self, uris: &[String], country: &str) -> AppResult<Vec<TrackRef>> {
        let ids = uris.iter().map(|uri| parse_track_ref(uri)).collect::<AppResult<Vec<_>>>()?;
        let found: HashMap<Id, TrackRow> =
            self.store.tracks(&dedup(&ids)).await?.into_iter().map(|row| (row.id, row)).collect();
        ids.iter()
            .map(|id| {
                let track = found.get(id).ok_or_else(|| AppError::not_found(format!("no track {id}")))?;
                if !track.is_playable_in(country) {
                    return Err(unavailable());
                }
                Ok(TrackRef { id: *id, duration_ms: track.duration_ms })
            })
            .collect()
    }

    /// A context's tracks that are playable here, in order.
    async fn context(&self, context_uri: &str, user: &Viewer) -> AppResult<Vec<TrackRef>> {
        let country = user.country.as_str();
        let uri = Uri::parse(context_uri).ok_or_else(|| {
            AppError::bad_request("context_uri must be segue:<album|artist|playlist>:<id> (or spotify:…)")
        })?;
        let rows = match uri.kind {
            UriKind::Album => {
                if self.store.album(uri.id).await?.is_none() {
                    return Err(AppError::not_found(format!("no album {}", uri.id)));
                }
                self.store.album_tracks(uri.id).await?
            }
            UriKind::Artist => {
                if self.store.artist(uri.id).await?.is_none() {
                    return Err(AppError::not_found(format!("no artist {}", uri.id)));
                }
                self.store.artist_top_tracks(uri.id, ARTIST_CONTEXT_TRACKS).await?
            }
            UriKind::Playlist => {
                let not_found = || AppError::not_found(format!("no playlist {}", uri.id));
                let playlist = self.store.playlist(uri.id).await?.ok_or_else(not_found)?;
                if !self.store.may_see_playlist(user.id, &playlist).await? {
                    return Err(not_found());
                }
                let ids = self.store.playlist_track_ids(uri.id, MAX_CONTEXT_TRACKS as u32).await?;
                let rows = self.store.tracks(&ids).await?;
                // In the playlist's order (a track may stand in it more than once).
                ids.iter().filter_map(|id| rows.iter().find(|row| row.id == *id).cloned()).collect()
            }
            UriKind::Track | UriKind::User => {
                return Err(AppError::bad_request("context_uri must name an album, an artist or a playlist"));
            }
        };
        let tracks: Vec<TrackRef> = rows
            .iter()
            .filter(|row| row.is_playable_in(country))
            .take(MAX_CONTEXT_TRACKS)
            .map(|row| TrackRef { id: row.id, duration_ms: row.duration_ms })
            .collect();
        if tracks.is_empty() {
            return Err(if rows.is_empty() {
                AppError::not_found("that context has no tracks")
            } else {
                unavailable()
            });
        }
        Ok(tracks)
    }
}

fn dedup(ids: &[Id]) -> Vec<Id> {
    let mut seen = HashMap::with_capacity(ids.len());
    ids.iter().filter(|id| seen.insert(**id, ()).is_none()).copied().collect()
}
