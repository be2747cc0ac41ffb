//! The free tier's skip budget: at most `limit` counted skips in any rolling window. It lives
//! inside the session, so it is exact without any distributed counter: one session, one log.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// How many skips a free user has, and over what window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipPolicy {
    pub limit: u32,
    pub window_ms: u64,
}

impl SkipPolicy {
    /// The contract's default: 6 skips an hour.
    pub const DEFAULT: SkipPolicy = SkipPolicy { limit: 6, window_ms: 3_600_000 };
}

/// The instants of the skips counted within the window, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipLog {
    policy: Option<SkipPolicy>,
    counted: VecDeque<u64>,
}

impl SkipLog {
    pub fn new(policy: Option<SkipPolicy>) -> SkipLog {
        SkipLog { policy, counted: VecDeque::new() }
    }

    pub fn policy(&self) -> Option<SkipPolicy> {
        self.policy
    }

    pub fn set_policy(&mut self, policy: Option<SkipPolicy>) {
        self.policy = policy;
    }

    /// The counted skips still inside the window at `now_ms`.
    fn in_window(&self, policy: SkipPolicy, now_ms: u64) -> impl Iterator<Item = &u64> {
        self.counted.iter().skip_while(move |&&at| at.saturating_add(policy.window_ms) <= now_ms)
    }

    /// Counts one skip at `now_ms`, or refuses with the milliseconds until one is free again.
    /// A refusal changes nothing.
    pub fn try_count(&mut self, now_ms: u64) -> Result<(), u64> {
        let Some(policy) = self.policy else {
            return Ok(());
        };
        let mut in_window = self.in_window(policy, now_ms);
        let oldest = in_window.next().copied();
        let used = oldest.map_or(0, |_| 1 + in_window.count());
        if used >= policy.limit as usize {
            // With a limit of 0 nothing is ever counted: the whole window is the wait.
            let frees_at = oldest.map_or(now_ms + policy.window_ms, |at| at + policy.window_ms);
            return Err(frees_at.saturating_sub(now_ms).max(1));
        }
        while self.counted.front().is_some_and(|&at| at + policy.window_ms <= now_ms) {
            self.counted.pop_front();
        }
        self.counted.push_back(now_ms);
        Ok(())
    }

    /// `(used, resets_at_ms)` at `now_ms`; `resets_at_ms` is when `used` next goes down.
    pub fn usage(&self, now_ms: u64) -> Option<(SkipPolicy, u32, u64)> {
        let policy = self.policy?;
        let mut in_window = self.in_window(policy, now_ms);
        let Some(&oldest) = in_window.next() else {
            return Some((policy, 0, now_ms));
        };
        let used = 1 + in_window.count() as u32;
        Some((policy, used, oldest + policy.window_ms))
    }

    /// The instants of the counted skips (for the property tests).
    #[cfg(test)]
    pub fn counted(&self) -> impl Iterator<Item = u64> + '_ {
        self.counted.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_past_the_limit_until_the_oldest_skip_leaves_the_window() {
        let mut log = SkipLog::new(Some(SkipPolicy { limit: 2, window_ms: 1_000 }));
        assert_eq!(log.try_count(100), Ok(()));
        assert_eq!(log.try_count(400), Ok(()));
        assert_eq!(log.try_count(500), Err(600));
        assert_eq!(log.usage(500), Some((SkipPolicy { limit: 2, window_ms: 1_000 }, 2, 1_100)));
        assert_eq!(log.try_count(1_099), Err(1));
        assert_eq!(log.try_count(1_100), Ok(()));
        assert_eq!(log.usage(1_100).unwrap().1, 2);
    }

    #[test]
    fn premium_has_no_budget_and_a_zero_limit_allows_nothing() {
        let mut premium = SkipLog::new(None);
        assert!((0..100).all(|t| premium.try_count(t).is_ok()));
        assert_eq!(premium.usage(0), None);
        let mut none = SkipLog::new(Some(SkipPolicy { limit: 0, window_ms: 60_000 }));
        assert_eq!(none.try_count(5), Err(60_000));
    }
}
