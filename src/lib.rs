//! Segue: the real-time Connect and session server.
//!
//! # Layout
//! - [`ids`]: 22-character base62 ids and `segue:`/`spotify:` URIs.
//! - [`player`]: the pure session state machine, the heart of the server.

pub mod ids;
pub mod player;
