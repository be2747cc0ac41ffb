//! Import of the "Spotify Songs" table (TidyTuesday 2020-01-21, `spotify_songs.csv`): one row per
//! (track, playlist), with the track's title, artist, album, popularity and audio features.
//!
//! Tracks, albums and playlists keep the dataset's own 22-character ids; an artist, which has
//! only a name there, gets an id derived from that name, so importing twice gives the same ids
//! (and the second import adds nothing). Each artist's genres are the playlist genres its tracks
//! appear under, most frequent first. The dataset's playlists become public playlists of an
//! editorial user, `segue-editorial`, with their tracks in the order of the file.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use crate::domain::catalog::{AlbumRecord, AlbumType, ArtistBundle, ArtistRecord, AudioFeatures, TrackRecord};
use crate::ids::Id;
use crate::reproducible::{fnv1a_64, fnv1a_64_from};

/// One row of the file (the columns Segue uses).
#[derive(Debug, Deserialize)]
struct Row {
    track_id: String,
    track_name: String,
    track_artist: String,
    track_popularity: u8,
    track_album_id: String,
    track_album_name: String,
    track_album_release_date: String,
    playlist_name: String,
    playlist_id: String,
    playlist_genre: String,
    playlist_subgenre: String,
    danceability: f32,
    energy: f32,
    key: i8,
    loudness: f32,
    mode: u8,
    speechiness: f32,
    acousticness: f32,
    instrumentalness: f32,
    liveness: f32,
    valence: f32,
    tempo: f32,
    duration_ms: u32,
}

/// A playlist of the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongsPlaylist {
    pub id: Id,
    pub name: String,
    pub description: String,
    pub tracks: Vec<Id>,
}

/// The whole dataset, deduplicated and grouped for import.
#[derive(Debug, Default)]
pub struct SongsCatalog {
    pub bundles: Vec<ArtistBundle>,
    pub playlists: Vec<SongsPlaylist>,
    /// Rows left out (an unusable id, an empty title or artist), with why.
    pub skipped: Vec<(usize, String)>,
}

impl SongsCatalog {
    pub fn track_count(&self) -> usize {
        self.bundles.iter().map(|b| b.tracks.len()).sum()
    }
}

/// The id of an artist known only by name: the same name always gives the same id (two FNV-1a
/// hashes of it from different bases, side by side).
pub fn artist_id(name: &str) -> Id {
    let high = fnv1a_64(name.as_bytes());
    let low = fnv1a_64_from(0x8422_2325_cbf2_9ce4, name.as_bytes());
    Id::from_u128((u128::from(high) << 64) | u128::from(low))
}

/// Reads and groups the file.
pub fn read(path: &Path) -> Result<SongsCatalog, csv::Error> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut catalog = SongsCatalog::default();
    let mut artists: BTreeMap<String, (ArtistRecord, HashMap<String, usize>)> = BTreeMap::new();
    let mut albums: HashMap<Id, AlbumRecord> = HashMap::new();
    let mut album_order: Vec<Id> = Vec::new();
    let mut tracks: HashMap<Id, TrackRecord> = HashMap::new();
    let mut track_order: Vec<Id> = Vec::new();
    let mut playlists: HashMap<Id, SongsPlaylist> = HashMap::new();
    let mut playlist_order: Vec<Id> = Vec::new();

    for (line, row) in reader.deserialize::<Row>().enumerate() {
        let line = line + 2; // 1-based, after the header
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                catalog.skipped.push((line, error.to_string()));
                continue;
            }
        };
        let (Some(track_id), Some(album_id)) = (Id::parse(&row.track_id), Id::parse(&row.track_album_id)) else {
            catalog.skipped.push((line, "a track or album id that is not 22 base62 characters".into()));
            continue;
        };
        let title = row.track_name.trim();
        let artist_name = row.track_artist.trim();
        if title.is_empty() || artist_name.is_empty() || title == "NA" || artist_name == "NA" {
            catalog.skipped.push((line, "no title or no artist".into()));
            continue;
        }
        let artist = artist_id(artist_name);
        let (artist_record, genres) = artists.entry(artist_name.to_string()).or_insert_with(|| {
            let record = ArtistRecord {
                id: artist,
                name: artist_name.to_string(),
                genres: Vec::new(),
                popularity: 0,
                followers: 0,
            };
            (record, HashMap::new())
        });
        artist_record.popularity = artist_record.popularity.max(row.track_popularity);
        *genres.entry(row.playlist_genre.clone()).or_default() += 2;
        *genres.entry(row.playlist_subgenre.clone()).or_default() += 1;

        let album = albums.entry(album_id).or_insert_with(|| {
            album_order.push(album_id);
            AlbumRecord {
                id: album_id,
                artist_id: artist,
                name: row.track_album_name.trim().to_string(),
                album_type: AlbumType::Album,
                release_date: row.track_album_release_date.clone(),
                label: String::new(),
                popularity: 0,
            }
        });
        album.popularity = album.popularity.max(row.track_popularity);

        if let Entry::Vacant(slot) = tracks.entry(track_id) {
            track_order.push(track_id);
            slot.insert(TrackRecord {
                id: track_id,
                album_id: album.id,
                // Credited to the album's artist, as the album is: a dataset row names one
                // artist per track, and an album's tracks may name different ones.
                artist_id: album.artist_id,
                name: title.to_string(),
                duration_ms: row.duration_ms.max(1),
                explicit: false,
                popularity: row.track_popularity,
                track_number: 0,
                disc_number: 1,
                isrc: String::new(),
                available_markets: None,
                features: AudioFeatures {
                    danceability: row.danceability,
                    energy: row.energy,
                    key: row.key,
                    loudness: row.loudness,
                    mode: row.mode,
                    speechiness: row.speechiness,
                    acousticness: row.acousticness,
                    instrumentalness: row.instrumentalness,
                    liveness: row.liveness,
                    valence: row.valence,
                    tempo: row.tempo,
                    time_signature: 4,
                },
            });
        }

        if let Some(playlist_id) = Id::parse(&row.playlist_id) {
            let playlist = playlists.entry(playlist_id).or_insert_with(|| {
                playlist_order.push(playlist_id);
                SongsPlaylist {
                    id: playlist_id,
                    name: row.playlist_name.trim().to_string(),
                    description: format!("{} · {}", row.playlist_genre, row.playlist_subgenre),
                    tracks: Vec::new(),
                }
            });
            if !playlist.tracks.contains(&track_id) {
                playlist.tracks.push(track_id);
            }
        }
    }

    // Group albums and tracks under their artists, numbering tracks within each album.
    let mut by_artist: HashMap<Id, ArtistBundle> = HashMap::new();
    for (_, (mut artist, genres)) in artists {
        let mut ranked: Vec<(String, usize)> = genres.into_iter().filter(|(g, _)| !g.is_empty()).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        artist.genres = ranked.into_iter().take(3).map(|(g, _)| g).collect();
        by_artist.insert(artist.id, ArtistBundle { artist, albums: Vec::new(), tracks: Vec::new() });
    }
    let mut numbers: HashMap<Id, u32> = HashMap::new();
    for id in &track_order {
        let mut track = tracks.remove(id).expect("every ordered track was inserted");
        let number = numbers.entry(track.album_id).or_default();
        *number += 1;
        track.track_number = *number;
        if let Some(bundle) = by_artist.get_mut(&track.artist_id) {
            bundle.tracks.push(track);
        }
    }
    for id in &album_order {
        let album = albums.remove(id).expect("every ordered album was inserted");
        if let Some(bundle) = by_artist.get_mut(&album.artist_id) {
            bundle.albums.push(album);
        }
    }
    let mut bundles: Vec<ArtistBundle> = by_artist.into_values().filter(|b| !b.albums.is_empty()).collect();
    bundles.sort_by_key(|bundle| bundle.artist.id);
    catalog.bundles = bundles;
    catalog.playlists = playlist_order.into_iter().filter_map(|id| playlists.remove(&id)).collect();
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms
6f807x0ima9a1j3VPbc7VN,I Don't Care,Ed Sheeran,66,2oCs0DGTsRO98Gh5ZSl2Cx,\"I Don't Care, Remixes\",2019-06-14,Pop Remix,37i9dQZF1DXcZDD7cfEKhW,pop,dance pop,0.748,0.916,6,-2.634,1,0.0583,0.102,0,0.0653,0.518,122.036,194754
0r7CVbZTWZgbTCYdfa2P31,Memories,Maroon 5,67,63rPSO264uRjW1X5E6cWv6,Memories,2019-12-13,Pop Remix,37i9dQZF1DXcZDD7cfEKhW,pop,dance pop,0.726,0.815,11,-4.969,1,0.0373,0.0724,0.00421,0.357,0.693,99.972,162600
6f807x0ima9a1j3VPbc7VN,I Don't Care,Ed Sheeran,66,2oCs0DGTsRO98Gh5ZSl2Cx,\"I Don't Care, Remixes\",2019-06-14,Chill,5cbDw6nKRQvBJRtlCnDN2m,latin,tropical,0.748,0.916,6,-2.634,1,0.0583,0.102,0,0.0653,0.518,122.036,194754
bad-id,Broken,Nobody,1,63rPSO264uRjW1X5E6cWv6,Memories,2019,Chill,5cbDw6nKRQvBJRtlCnDN2m,latin,tropical,0.1,0.1,1,-5,1,0.1,0.1,0,0.1,0.1,100,1000
";

    #[test]
    fn rows_are_deduplicated_and_grouped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("songs.csv");
        std::fs::write(&path, SAMPLE).unwrap();
        let catalog = read(&path).unwrap();
        assert_eq!(catalog.track_count(), 2, "a track listed in two playlists is one track");
        assert_eq!(catalog.bundles.len(), 2);
        assert_eq!(catalog.skipped.len(), 1);
        let ed = catalog.bundles.iter().find(|b| b.artist.name == "Ed Sheeran").unwrap();
        assert_eq!(ed.artist.id, artist_id("Ed Sheeran"));
        // Genres count twice, subgenres once; ties go alphabetically.
        assert_eq!(ed.artist.genres, ["latin", "pop", "dance pop"]);
        assert_eq!(ed.albums[0].name, "I Don't Care, Remixes", "quoted commas survive");
        assert_eq!(ed.tracks[0].track_number, 1);
        assert_eq!(catalog.playlists.len(), 2);
        assert_eq!(catalog.playlists[0].tracks.len(), 2);
        assert_eq!(artist_id("Ed Sheeran"), artist_id("Ed Sheeran"));
        // Stored with every imported artist: a second import must find the same ids.
        assert_eq!(artist_id("Ed Sheeran").as_str(), "469sWTDqzx2Z9lETC1UIjv");
        assert_ne!(artist_id("Ed Sheeran"), artist_id("Ed Sheeran "));
    }
}
