//! Recommendations: collaborative filtering over users' interactions, its offline evaluation
//! (`segue recs batch`, `segue recs evaluate`), and what a node serves (`segue recs train`, the
//! scheduled training, the recommender behind `/v1/recommendations`, Discover Weekly, radio and
//! autoplay).
//!
//! - [`data`]: reading `user<TAB>item<TAB>weight` logs into a sparse user × item matrix.
//! - [`models`]: popularity, item-kNN, EASE, RP3beta, implicit ALS and their blend.
//! - [`evaluation`]: the seeded per-user hold-out, top-K selection, recall@K and NDCG@K.
//! - [`training`]: the store's interactions → the sparse item–item neighbour table served.
//! - [`serving`]: the in-memory recommender (neighbours + content) and its four questions.
//! - [`service`]: loading the stored model, training it (one node at a time), the schedule.
//! - [`cli`]: the offline commands, for the binary to call.
//!
//! All but [`service`] only compute; [`service`] reads and writes the store (and, in a cluster,
//! takes a Redis lock through `storage::redis`).

pub mod cli;
pub mod data;
pub mod evaluation;
pub mod models;
pub mod service;
pub mod serving;
pub mod training;
