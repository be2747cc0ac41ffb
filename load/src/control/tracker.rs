//! Matching one user's commands to the `state` events that deliver them to the user's other
//! devices, and turning each match into a latency sample.
//!
//! A command is written at `t0` from one device. Against Segue its `seq` is known only when
//! the reply comes, and a state event at another device can come before that reply: every
//! device keeps the last few `(seq, arrival)` pairs it saw, and a reply looks back into them.
//! Against the relay the client picks the `seq` itself, so it is known at `t0`.
//!
//! A device has received a command's change when it receives a state whose `seq` is at least
//! the command's: a server may fold several changes into one newer state, and that newer state
//! carries the change too. No clock is read here: every instant is an argument.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::stats::Tally;

/// How many recent `(seq, arrival)` pairs each device keeps for replies that come late.
const RECENT: usize = 32;

/// One command whose delivery is not complete.
#[derive(Debug)]
struct Pending {
    sender: usize,
    /// The request id while the reply is awaited (Segue); `None` once replied, or for the relay.
    request: Option<u32>,
    /// The command's seq, once known.
    seq: Option<u64>,
    /// The highest seq any device of the user had seen at `t0`: a reply at or below it means
    /// the command changed nothing.
    seq_before: u64,
    t0: Instant,
    /// Devices (bit per index) still to receive the command's state.
    waiting: u64,
    measured: bool,
}

/// The deliveries of one user's commands.
#[derive(Debug)]
pub struct Tracker {
    recent: Vec<VecDeque<(u64, Instant)>>,
    pending: Vec<Pending>,
    max_seq: u64,
    timeout: Duration,
}

impl Tracker {
    /// A tracker for `devices` devices (at most 64) and this delivery timeout.
    pub fn new(devices: usize, timeout: Duration) -> Tracker {
        assert!(devices <= 64, "a user has at most 64 tracked devices");
        Tracker {
            recent: (0..devices).map(|_| VecDeque::with_capacity(RECENT)).collect(),
            pending: Vec::new(),
            max_seq: 0,
            timeout,
        }
    }

    /// Records a command written by `sender` at `t0`, to be delivered to every device of
    /// `online` (a bit per device) but the sender. `request` is the id whose reply will carry
    /// the seq; `seq` is the seq itself when the client chose it.
    pub fn sent(
        &mut self,
        sender: usize,
        request: Option<u32>,
        seq: Option<u64>,
        t0: Instant,
        online: u64,
        measured: bool,
    ) {
        let waiting = online & !(1 << sender);
        if waiting == 0 && request.is_none() {
            return;
        }
        self.pending.push(Pending { sender, request, seq, seq_before: self.max_seq, t0, waiting, measured });
    }

    /// Whether `device` awaits the reply to a command.
    pub fn awaiting_reply(&self, device: usize) -> bool {
        self.pending.iter().any(|p| p.sender == device && p.request.is_some())
    }

    /// The reply to request `id` reached `device` at `at`: `Some(seq)` when the command was
    /// applied, `None` when it was refused. Returns whether the command was measured, or `None`
    /// when no command awaited this reply (one that timed out already).
    pub fn replied(
        &mut self,
        device: usize,
        id: u32,
        seq: Option<u64>,
        at: Instant,
        tally: &mut Tally,
    ) -> Option<bool> {
        let index = self.pending.iter().position(|p| p.sender == device && p.request == Some(id))?;
        let measured = self.pending[index].measured;
        let pending = &mut self.pending[index];
        pending.request = None;
        if measured {
            tally.reply_samples.push(at - pending.t0);
        }
        match seq {
            Some(seq) if seq > pending.seq_before => {
                pending.seq = Some(seq);
                let (t0, timeout) = (pending.t0, self.timeout);
                for device in bits(pending.waiting) {
                    // The earliest state at or past the seq that this device saw after t0.
                    let seen = self.recent[device].iter().find(|&&(seen, at)| seen >= seq && at >= t0);
                    if let Some(&(_, at)) = seen {
                        record(at - t0, timeout, measured, tally);
                        pending.waiting &= !(1 << device);
                    }
                }
                if pending.waiting == 0 {
                    self.pending.swap_remove(index);
                }
            }
            Some(_) => {
                if measured {
                    tally.unchanged += 1;
                }
                self.pending.swap_remove(index);
            }
            None => {
                self.pending.swap_remove(index);
            }
        }
        Some(measured)
    }

    /// A `state` event with `seq` reached `device` at `at`.
    pub fn state(&mut self, device: usize, seq: u64, at: Instant, tally: &mut Tally) {
        let recent = &mut self.recent[device];
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back((seq, at));
        self.max_seq = self.max_seq.max(seq);
        let bit = 1 << device;
        let timeout = self.timeout;
        self.pending.retain_mut(|pending| {
            if pending.waiting & bit != 0 && pending.seq.is_some_and(|wanted| wanted <= seq) {
                record(at - pending.t0, timeout, pending.measured, tally);
                pending.waiting &= !bit;
            }
            pending.waiting != 0 || pending.request.is_some()
        });
    }

    /// `device` is gone: nothing more is expected from it, nor delivered to it.
    pub fn lost(&mut self, device: usize) {
        let bit = 1 << device;
        self.pending.retain_mut(|pending| {
            pending.waiting &= !bit;
            pending.sender != device && (pending.waiting != 0 || pending.request.is_some())
        });
        self.recent[device].clear();
    }

    /// Gives up on every delivery older than the timeout at `now`, counting each as a timeout.
    pub fn sweep(&mut self, now: Instant, tally: &mut Tally) {
        let timeout = self.timeout;
        self.pending.retain(|pending| {
            let expired = now.duration_since(pending.t0) >= timeout;
            if expired && pending.measured {
                tally.timeouts += u64::from(pending.waiting.count_ones());
            }
            !expired
        });
    }

    /// True when no command awaits a reply or a delivery.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A delivery after `latency`: a sample, or a timeout past the limit.
fn record(latency: Duration, timeout: Duration, measured: bool, tally: &mut Tally) {
    if !measured {
        return;
    }
    if latency >= timeout {
        tally.timeouts += 1;
    } else {
        tally.samples.push(latency);
    }
}

/// The indices of the set bits.
fn bits(mask: u64) -> impl Iterator<Item = usize> {
    (0..64).filter(move |&bit| mask & (1 << bit) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL3: u64 = 0b111;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn tracker() -> (Tracker, Tally, Instant) {
        (Tracker::new(3, Duration::from_secs(5)), Tally::default(), Instant::now())
    }

    #[test]
    fn a_reply_then_events_gives_one_sample_per_other_device() {
        let (mut tracker, mut tally, t0) = tracker();
        tracker.sent(0, Some(7), None, t0, ALL3, true);
        assert!(tracker.awaiting_reply(0) && !tracker.awaiting_reply(1));
        assert_eq!(tracker.replied(0, 7, Some(5), t0 + ms(1), &mut tally), Some(true));
        tracker.state(0, 5, t0 + ms(2), &mut tally);
        tracker.state(1, 5, t0 + ms(3), &mut tally);
        assert!(!tracker.is_idle());
        tracker.state(2, 5, t0 + ms(4), &mut tally);
        assert!(tracker.is_idle());
        assert_eq!(tally.samples, vec![ms(3), ms(4)], "the sender's own event is not a sample");
    }

    #[test]
    fn an_event_before_the_reply_is_found_when_the_reply_comes() {
        let (mut tracker, mut tally, t0) = tracker();
        tracker.sent(2, Some(1), None, t0, ALL3, true);
        tracker.state(0, 9, t0 + ms(1), &mut tally);
        assert!(tally.samples.is_empty());
        tracker.replied(2, 1, Some(9), t0 + ms(2), &mut tally);
        assert_eq!(tally.samples, vec![ms(1)]);
        tracker.state(1, 9, t0 + ms(6), &mut tally);
        assert_eq!(tally.samples, vec![ms(1), ms(6)]);
        assert!(tracker.is_idle());
    }

    #[test]
    fn a_newer_state_delivers_an_older_change() {
        let (mut tracker, mut tally, t0) = tracker();
        tracker.sent(0, None, Some(3), t0, 0b11, true);
        tracker.state(1, 4, t0 + ms(2), &mut tally);
        assert_eq!(tally.samples, vec![ms(2)]);
        assert!(tracker.is_idle());
    }

    #[test]
    fn a_refusal_or_an_unchanged_state_ends_the_command_without_samples() {
        let (mut tracker, mut tally, t0) = tracker();
        tracker.state(1, 10, t0, &mut tally);
        tracker.sent(0, Some(1), None, t0 + ms(1), ALL3, true);
        tracker.sent(1, Some(1), None, t0 + ms(1), ALL3, true);
        assert_eq!(tracker.replied(0, 1, None, t0 + ms(2), &mut tally), Some(true));
        assert_eq!(tracker.replied(1, 1, Some(10), t0 + ms(2), &mut tally), Some(true));
        assert!(tracker.is_idle());
        assert!(tally.samples.is_empty());
        assert_eq!(tally.unchanged, 1);
        assert_eq!(tracker.replied(1, 1, Some(11), t0 + ms(3), &mut tally), None, "already answered");
    }

    #[test]
    fn an_event_seen_before_the_command_does_not_count() {
        let (mut tracker, mut tally, t0) = tracker();
        // Device 1 saw seq 12 just before the command (another device's change, say) and the
        // reply names 12 as well: nothing before t0 may be taken for the delivery.
        tracker.sent(0, Some(4), None, t0 + ms(5), 0b01, true);
        tracker.state(1, 12, t0, &mut tally);
        tracker.replied(0, 4, Some(12), t0 + ms(6), &mut tally);
        assert!(tally.samples.is_empty());
    }

    #[test]
    fn late_deliveries_and_lost_devices() {
        let (mut tracker, mut tally, t0) = tracker();
        tracker.sent(0, None, Some(1), t0, ALL3, true);
        tracker.sent(0, None, Some(1), t0, ALL3, false);
        tracker.state(1, 1, t0 + Duration::from_secs(6), &mut tally);
        assert_eq!(tally.timeouts, 1, "a delivery past the limit is a timeout");
        tracker.lost(2);
        assert!(tracker.is_idle(), "nobody is left to deliver to");

        tracker.sent(1, Some(3), None, t0, 0b011, true);
        tracker.sweep(t0 + ms(4_999), &mut tally);
        assert!(!tracker.is_idle());
        tracker.sweep(t0 + ms(5_000), &mut tally);
        assert!(tracker.is_idle());
        assert_eq!(tally.timeouts, 2, "device 0 only: device 2 is gone");
        assert!(tally.samples.is_empty());
    }

    #[test]
    fn unmeasured_commands_leave_no_trace() {
        let (mut tracker, mut tally, t0) = tracker();
        tracker.sent(0, Some(1), None, t0, ALL3, false);
        assert_eq!(tracker.replied(0, 1, Some(1), t0, &mut tally), Some(false));
        tracker.state(1, 1, t0 + ms(1), &mut tally);
        tracker.sweep(t0 + ms(10_000), &mut tally);
        assert!(tally.samples.is_empty() && tally.reply_samples.is_empty());
        assert_eq!(tally.timeouts, 0);
    }
}
