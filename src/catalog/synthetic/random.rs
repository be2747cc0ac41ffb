//! The seeded generator every value of the synthetic catalog is drawn from, and the
//! independent sub-seeds one catalog seed gives each artist, label and id key.

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijective 64-bit mixing function.
pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Independent sub-seeds for the different things derived from one catalog seed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stream {
    Artist = 1,
    Label = 2,
    Registrant = 3,
    IdKey = 4,
}

/// Derives the seed of one sub-generator from the catalog seed.
pub(super) fn derive_seed(seed: u64, stream: Stream, index: u64) -> u64 {
    let base = mix64(seed ^ (stream as u64).wrapping_mul(GOLDEN_GAMMA));
    mix64(base ^ mix64(index.wrapping_add(GOLDEN_GAMMA)))
}

/// SplitMix64: tiny, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
pub(super) struct Rng {
    state: u64,
}

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform integer in `0..n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform integer in `lo..=hi`.
    pub(super) fn between(&mut self, lo: u32, hi: u32) -> u32 {
        let span = hi.saturating_sub(lo) as usize + 1;
        lo + self.below(span) as u32
    }

    /// Uniform float in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform float in `[lo, hi)`.
    pub(super) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Approximately standard normal (Irwin–Hall with four terms, within ±3.5).
    pub(super) fn normal(&mut self) -> f64 {
        let sum = self.unit() + self.unit() + self.unit() + self.unit();
        (sum - 2.0) * 1.732_050_807_568_877
    }

    /// Number of failures before the first success (success probability `p`), capped at `max`.
    pub(super) fn geometric(&mut self, p: f64, max: u32) -> u32 {
        let mut n = 0;
        while n < max && !self.chance(p) {
            n += 1;
        }
        n
    }

    pub(super) fn pick(&mut self, list: &[&'static str]) -> &'static str {
        list.get(self.below(list.len())).copied().unwrap_or_default()
    }

    /// Index drawn with the given relative weights.
    pub(super) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut roll = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if roll < w {
                return i;
            }
            roll -= w;
        }
        0
    }
}
