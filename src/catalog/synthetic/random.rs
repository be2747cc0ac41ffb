//! The draws the synthetic catalog is made of, on the server's one seeded generator
//! ([`SeededRng`]): the catalog seed and the kind of thing drawn ([`Stream`]) key it, and each
//! artist or label reads a ChaCha stream of its own, so each is generated independently of
//! every other and of how many come before it.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::reproducible::SeededRng;

/// The kinds of thing drawn from one catalog seed, each from generators of its own.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stream {
    Artist = 1,
    Label = 2,
    Keys = 3,
}

/// The generator of item `index` of `stream` in the catalog of `seed`: ChaCha keyed by the
/// seed and the stream, on stream number `index` (ChaCha has 2^64 independent streams a key).
pub(super) fn stream_rng(seed: u64, stream: Stream, index: u64) -> SeededRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(stream as u64).to_le_bytes());
    let mut rng = SeededRng::from_seed(key);
    rng.set_stream(index);
    rng
}

/// The draws the generator makes that rand has under another shape or not at all.
pub(super) trait Draw {
    /// One word of `list`, uniformly ("" from an empty list).
    fn pick(&mut self, list: &[&'static str]) -> &'static str;

    /// True with probability `p`, clamped to `0..=1` (callers add up deviations that may stray
    /// past either end).
    fn chance(&mut self, p: f64) -> bool;

    /// Approximately standard normal (Irwin–Hall with four terms, within ±3.5): only additions
    /// and multiplications, no `libm` function whose last bit could differ between platforms.
    fn normal(&mut self) -> f64;

    /// Number of failures before the first success (success probability `p`), capped at `max`.
    fn geometric(&mut self, p: f64, max: u32) -> u32;
}

impl<R: Rng> Draw for R {
    fn pick(&mut self, list: &[&'static str]) -> &'static str {
        list.choose(self).copied().unwrap_or_default()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.random_bool(p.clamp(0.0, 1.0))
    }

    fn normal(&mut self) -> f64 {
        let sum: f64 = (0..4).map(|_| self.random::<f64>()).sum();
        (sum - 2.0) * 1.732_050_807_568_877
    }

    fn geometric(&mut self, p: f64, max: u32) -> u32 {
        let mut failures = 0;
        while failures < max && !self.chance(p) {
            failures += 1;
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_one_seed_are_independent_and_repeatable() {
        let first = |stream, index| stream_rng(5, stream, index).random::<u64>();
        assert_eq!(first(Stream::Artist, 3), first(Stream::Artist, 3));
        assert_ne!(first(Stream::Artist, 3), first(Stream::Artist, 4));
        assert_ne!(first(Stream::Artist, 3), first(Stream::Label, 3));
        assert_ne!(stream_rng(5, Stream::Artist, 3).random::<u64>(), stream_rng(6, Stream::Artist, 3).random::<u64>());
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut rng = stream_rng(1, Stream::Artist, 0);
        for _ in 0..10_000 {
            assert!((-3.5..=3.5).contains(&rng.normal()));
            assert!(rng.geometric(0.5, 3) <= 3);
            assert!(!rng.chance(-0.2) && rng.chance(1.3));
        }
        assert_eq!(rng.pick(&[]), "");
        assert_eq!(rng.pick(&["only"]), "only");
        let mean = (0..10_000).map(|_| rng.normal()).sum::<f64>() / 10_000.0;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }
}
