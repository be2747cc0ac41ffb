//! Password hashing with Argon2id (the RustCrypto `argon2` crate, its default parameters:
//! 19 MiB of memory and two passes per hash, tens of milliseconds by design).
//!
//! The server hashes on its own small pool of threads ([`HashingPool`]) behind a bounded queue.
//! That bounds three things a flood of logins could otherwise take: CPU (the pool never has more
//! threads than it was given, so socket workers keep their cores), memory (each Argon2 hash
//! allocates 19 MiB; glibc keeps freed blocks in per-thread arenas, so hashing on many threads
//! left gigabytes resident in a load test), and waiting (a full queue is `UNAVAILABLE`, at once).

use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use segue_protocol::ErrorCode;
use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};
use crate::metrics::{Metrics, Queue};

/// The PHC string of a new salted hash of `password`.
pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .expect("hashing with a fresh salt and default parameters cannot fail")
}

/// True when `password` matches the PHC string `stored`.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

enum Job {
    Hash { password: String, reply: oneshot::Sender<String> },
    Verify { password: String, stored: Option<String>, reply: oneshot::Sender<bool> },
}

/// A fixed set of threads that hash and verify passwords.
///
/// Capacity: the `queue` given to [`HashingPool::start`] jobs waiting; a job that finds it full
/// is answered `UNAVAILABLE` at once and counted (`password_hashing`).
#[derive(Clone)]
pub struct HashingPool {
    jobs: SyncSender<Job>,
    metrics: Arc<Metrics>,
}

fn busy() -> AppError {
    AppError::new(ErrorCode::Unavailable, "too many sign-ins at once; retry in a moment")
}

impl HashingPool {
    /// Starts `threads` hashing threads sharing a queue of `queue` waiting jobs.
    pub fn start(threads: usize, queue: usize, metrics: Arc<Metrics>) -> HashingPool {
        let (jobs, receiver) = mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("segue-password-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for a job, never while hashing.
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(Job::Hash { password, reply }) => {
                                let _ = reply.send(hash(&password));
                            }
                            // Without a stored hash, hash anyway, so a login for an unknown
                            // user takes as long as one with a wrong password.
                            Ok(Job::Verify { password, stored, reply }) => {
                                let matches = match stored {
                                    Some(stored) => verify(&password, &stored),
                                    None => {
                                        hash(&password);
                                        false
                                    }
                                };
                                let _ = reply.send(matches);
                            }
                            Err(_) => return,
                        }
                    }
                })
                .expect("the OS starts a thread");
        }
        HashingPool { jobs, metrics }
    }

    async fn run<T>(&self, job: Job, reply: oneshot::Receiver<T>) -> AppResult<T> {
        match self.jobs.try_send(job) {
            Ok(()) => reply.await.map_err(|_| AppError::internal()),
            Err(TrySendError::Full(_)) => {
                self.metrics.overflowed(Queue::PasswordHashing);
                Err(busy())
            }
            Err(TrySendError::Disconnected(_)) => Err(AppError::internal()),
        }
    }

    /// A new salted hash of `password`.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        let (reply, answer) = oneshot::channel();
        self.run(Job::Hash { password, reply }, answer).await
    }

    /// Whether `password` matches `stored`; with no stored hash, false after the same work.
    pub async fn verify(&self, password: String, stored: Option<String>) -> AppResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.run(Job::Verify { password, stored, reply }, answer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("Correct horse", &stored));
        assert!(!verify("correct horse", "not a hash"));
        assert_ne!(hash("correct horse"), stored, "every hash has its own salt");
    }

    #[tokio::test]
    async fn the_pool_hashes_and_verifies_and_refuses_when_full() {
        let metrics = Arc::new(Metrics::default());
        let pool = HashingPool::start(1, 1, metrics.clone());
        let stored = pool.hash("pw-123456".into()).await.unwrap();
        assert!(pool.verify("pw-123456".into(), Some(stored.clone())).await.unwrap());
        assert!(!pool.verify("pw-123456".into(), None).await.unwrap());
        // One job hashing, one waiting: a third is refused at once.
        let jobs: Vec<_> = (0..3).map(|_| pool.hash("x".repeat(8))).collect();
        let results = futures_util::future::join_all(jobs).await;
        assert!(results.iter().any(|r| r.as_ref().is_err_and(|e| e.code == ErrorCode::Unavailable)));
        assert!(results.iter().any(|r| r.is_ok()));
        let refused = results.iter().filter(|r| r.is_err()).count() as u64;
        assert_eq!(metrics.overflows(Queue::PasswordHashing), refused, "every refusal is counted");
    }
}
