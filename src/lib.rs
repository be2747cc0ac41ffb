//! Segue: the real-time Connect and session server of a music streaming service.
//!
//! # Layout
//! - [`node`]: the composition root: builds a running [`node::Node`] from a configuration and
//!   owns its background tasks.
//! - [`gateway`]: HTTP (actix-web) and the Connect WebSocket; the only module that touches
//!   sockets.
//! - [`actors`]: the user session actor, the directory that activates it, the bus that fans its
//!   events out, and the hub of this node's connections.
//! - [`player`]: the pure session state machine, the heart of the server.
//! - [`playlist`]: the pure edit model of collaborative playlists (socket ops and Web API edits).
//! - [`catalog`]: the generated catalogs and the resolution of URIs into playable tracks.
//! - [`search`]: the full-text index of the catalog (tantivy), typo-tolerant and prefix-matching.
//! - [`auth`]: accounts, password hashing, signed tokens.
//! - [`streaming`]: signed streaming URLs and the audio origin they point at.
//! - [`storage`]: the store (sqlx over SQLite or PostgreSQL) and the write-behind writer; the
//!   only module that imports sqlx.
//! - [`domain`]: the types storage, the catalog and auth share (subscriptions, the viewer of a
//!   request, catalog records), so none of them imports another for its types.
//! - [`recs`]: recommendations: the collaborative-filtering models and their offline evaluation.
//! - [`reproducible`]: the one seeded random generator and the one stable hash (FNV-1a).
//! - [`telemetry`]: logs, and traces exported over OTLP.
//! - [`ids`], [`error`], [`config`], [`metrics`], [`clock`]: the small shared pieces.
//!
//! The binary (`src/main.rs`) is thin: it parses the command line and calls into this library.

pub mod actors;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod gateway;
pub mod ids;
pub mod metrics;
pub mod node;
pub mod offline;
pub mod player;
pub mod playlist;
pub mod recs;
pub mod reproducible;
pub mod search;
pub mod storage;
pub mod streaming;
pub mod telemetry;
