//! Shards: the threads sessions and device connections live on, with every user pinned to one.
//!
//! A user's session actor and all of that user's device connections run on the same shard (an
//! actix arbiter: one thread with its own runtime), chosen by a hash of the user id. A command
//! then goes from the socket to the session and out to the other devices without ever crossing
//! a thread: no cross-thread wake-ups, no cache lines bouncing between cores. Users spread over
//! the shards, so the cores are shared by users, not by the steps of one command. (Measured at
//! 10,000 commands/s with sessions and sockets on different threads: p50 526 µs, p99 1.36 ms;
//! see BENCHMARKS.md for the figures with shards.)

use actix_rt::{Arbiter, ArbiterHandle};

use crate::ids::Id;

/// The shard threads of this node.
pub struct Shards {
    arbiters: Vec<Arbiter>,
}

impl Shards {
    /// Starts `count` shard threads. Must run inside an actix system.
    pub fn start(count: usize) -> Shards {
        Shards { arbiters: (0..count.max(1)).map(|_| Arbiter::new()).collect() }
    }

    /// The shard of `user`: the same for every call, spread evenly over the shards.
    pub fn home(&self, user: Id) -> ArbiterHandle {
        self.arbiters[shard_index(user, self.arbiters.len())].handle()
    }

    /// The number of `user`'s shard.
    pub fn index_of(&self, user: Id) -> usize {
        shard_index(user, self.arbiters.len())
    }

    /// Stops every shard thread once its current work is done.
    pub fn stop(&self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

/// FNV-1a over the id's bytes, reduced to a shard index.
fn shard_index(user: Id, count: usize) -> usize {
    let hash = crate::reproducible::fnv1a_64(user.as_str().as_bytes());
    (hash % count as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_spread_evenly_and_always_land_on_the_same_shard() {
        let mut counts = [0usize; 4];
        for n in 0..40_000u128 {
            let user = Id::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            let shard = shard_index(user, 4);
            assert_eq!(shard, shard_index(user, 4));
            counts[shard] += 1;
        }
        assert!(counts.iter().all(|&c| (9_000..11_000).contains(&c)), "{counts:?}");
    }
}
