//! What a run measures while it runs: the phase every task reads (warm-up, measured window,
//! drain), each user task's local [`Tally`], and the shared [`Stats`] the tallies are merged
//! into now and then, so the hot path touches no lock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Where a run is. Commands sent and events received are counted only in `Measure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    /// Connecting and preparing; nothing is sent on the schedule yet.
    Setup = 0,
    /// On the schedule, not measured.
    Warmup = 1,
    /// On the schedule and measured.
    Measure = 2,
    /// The schedule ended: waiting for the last deliveries, then closing.
    Drain = 3,
}

/// The current [`Stage`], shared by the scheduler (which moves it) and every user task.
#[derive(Debug)]
pub struct Phase(AtomicU8);

impl Phase {
    pub fn new() -> Phase {
        Phase(AtomicU8::new(Stage::Setup as u8))
    }

    pub fn set(&self, stage: Stage) {
        self.0.store(stage as u8, Ordering::Relaxed);
    }

    pub fn get(&self) -> Stage {
        match self.0.load(Ordering::Relaxed) {
            0 => Stage::Setup,
            1 => Stage::Warmup,
            2 => Stage::Measure,
            _ => Stage::Drain,
        }
    }

    pub fn measuring(&self) -> bool {
        self.get() == Stage::Measure
    }
}

/// One user task's counts since its last merge. Everything here belongs to the measured
/// window: a latency sample or a timeout of a command sent in it, an event received in it.
#[derive(Debug, Default)]
pub struct Tally {
    /// Command-to-state latencies at the other devices.
    pub samples: Vec<Duration>,
    /// Command-to-reply latencies at the sender (Segue only: the relay does not reply).
    pub reply_samples: Vec<Duration>,
    /// Deliveries that did not happen within the timeout.
    pub timeouts: u64,
    /// Commands sent.
    pub commands: u64,
    /// `state` events received, by every device (the sender's own included).
    pub state_events: u64,
    /// Their bytes, for the mean frame size.
    pub state_bytes: u64,
    /// Commands the server accepted without changing the state (the reply's seq was old).
    pub unchanged: u64,
    /// Ticks of the schedule dropped because every device of the user had a command in flight.
    pub skipped_busy: u64,
    /// Sockets that closed or failed during the run.
    pub disconnects: u64,
    /// Refusals by error code, and other failures by a short name.
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub fn error(&mut self, name: &str) {
        match self.errors.get_mut(name) {
            Some(count) => *count += 1,
            None => {
                self.errors.insert(name.to_string(), 1);
            }
        }
    }
}

/// Everything the user tasks measured, merged.
#[derive(Debug)]
pub struct Stats {
    inner: Mutex<Merged>,
}

/// The merged counts, as the report reads them.
#[derive(Debug)]
pub struct Merged {
    /// Command-to-state latency at the other devices, in microseconds.
    pub latency_us: Histogram<u64>,
    /// Command-to-reply latency at the sender, in microseconds.
    pub reply_us: Histogram<u64>,
    pub totals: Tally,
    /// Ticks dropped because a user task's queue was full (the client could not keep up).
    pub backlogged: u64,
}

impl Stats {
    pub fn new() -> Stats {
        // 1 µs to 1 min at 3 significant digits: 0.1% resolution at every magnitude.
        let histogram = || Histogram::new_with_bounds(1, 60_000_000, 3).expect("the histogram bounds are valid");
        Stats {
            inner: Mutex::new(Merged {
                latency_us: histogram(),
                reply_us: histogram(),
                totals: Tally::default(),
                backlogged: 0,
            }),
        }
    }

    /// Moves a tally's counts into the totals and leaves it empty.
    pub fn absorb(&self, tally: &mut Tally) {
        let mut merged = self.lock();
        record(&mut merged.latency_us, &mut tally.samples);
        record(&mut merged.reply_us, &mut tally.reply_samples);
        let totals = &mut merged.totals;
        totals.timeouts += std::mem::take(&mut tally.timeouts);
        totals.commands += std::mem::take(&mut tally.commands);
        totals.state_events += std::mem::take(&mut tally.state_events);
        totals.state_bytes += std::mem::take(&mut tally.state_bytes);
        totals.unchanged += std::mem::take(&mut tally.unchanged);
        totals.skipped_busy += std::mem::take(&mut tally.skipped_busy);
        totals.disconnects += std::mem::take(&mut tally.disconnects);
        for (name, count) in std::mem::take(&mut tally.errors) {
            *totals.errors.entry(name).or_default() += count;
        }
    }

    pub fn backlogged(&self) {
        self.lock().backlogged += 1;
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Merged> {
        // A panicking user task cannot leave the counts half-merged in a way that matters.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Moves `samples` into `histogram`, in whole microseconds (at least 1).
fn record(histogram: &mut Histogram<u64>, samples: &mut Vec<Duration>) {
    for sample in samples.drain(..) {
        let micros = u64::try_from(sample.as_micros()).unwrap_or(u64::MAX);
        histogram.saturating_record(micros.max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorbing_moves_the_counts_and_empties_the_tally() {
        let stats = Stats::new();
        let mut tally = Tally {
            samples: vec![Duration::from_micros(250), Duration::from_nanos(10)],
            commands: 2,
            ..Tally::default()
        };
        tally.error("ALREADY_PAUSED");
        tally.error("ALREADY_PAUSED");
        stats.absorb(&mut tally);
        stats.absorb(&mut tally);
        assert!(tally.samples.is_empty() && tally.errors.is_empty());
        let merged = stats.lock();
        assert_eq!(merged.latency_us.len(), 2);
        assert_eq!(merged.latency_us.min(), 1, "sub-microsecond samples count as 1 µs");
        assert_eq!(merged.totals.commands, 2);
        assert_eq!(merged.totals.errors["ALREADY_PAUSED"], 2);
    }

    #[test]
    fn the_phase_moves_forward() {
        let phase = Phase::new();
        assert_eq!(phase.get(), Stage::Setup);
        phase.set(Stage::Measure);
        assert!(phase.measuring());
        phase.set(Stage::Drain);
        assert_eq!(phase.get(), Stage::Drain);
    }
}
