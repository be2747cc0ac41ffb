//! Recommendations: collaborative filtering over users' interactions (play counts) and its
//! offline evaluation (`segue recs batch`, `segue recs evaluate`).
//!
//! - [`data`]: reading `user<TAB>item<TAB>weight` logs into a sparse user × item matrix.
//! - [`models`]: popularity, item-kNN, EASE, RP3beta, implicit ALS and their blend.
//! - [`evaluation`]: the seeded per-user hold-out, top-K selection, recall@K and NDCG@K.
//! - [`cli`]: the two commands, for the binary to call.
//!
//! It reads files and does arithmetic; it touches no socket, store or actor.

pub mod cli;
pub mod data;
pub mod evaluation;
pub mod models;
