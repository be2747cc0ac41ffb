//! Search over the catalog: tracks, artists, albums and public playlists. (Being written: see
//! issue 3.)
