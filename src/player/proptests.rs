//! Property tests of the session state machine: random command sequences from several devices,
//! with the invariants checked after every step, and scenario tests of single behaviours.

use proptest::prelude::*;

use segue_protocol::{DeviceType, ErrorCode, RepeatMode};

use super::*;

const DEVICES: [&str; 4] = ["phone", "laptop", "speaker", "remote"];
const POLICY: SkipPolicy = SkipPolicy { limit: 3, window_ms: 10_000 };

fn track(n: u8) -> TrackRef {
    // Durations from 2 s to 8 s, so that time steps often reach the end of a track.
    TrackRef { id: Id::from_u128(u128::from(n)), duration_ms: 2_000 + u32::from(n % 7) * 1_000 }
}

fn info(device: &str) -> DeviceInfo {
    DeviceInfo {
        id: device.to_string(),
        name: device.to_uppercase(),
        device_type: DeviceType::Smartphone,
        // The "remote" device is a remote control only.
        can_play: device != "remote",
        supports_volume: device != "speaker",
        volume_percent: None,
    }
}

fn arb_device() -> impl Strategy<Value = String> {
    prop::sample::select(&DEVICES[..]).prop_map(str::to_string)
}

fn arb_track() -> impl Strategy<Value = TrackRef> {
    (0u8..12).prop_map(track)
}

fn arb_source() -> impl Strategy<Value = PlaySource> {
    (prop::collection::vec(arb_track(), 0..6), prop::option::of("segue:album:[a-z]{3}"), 0u8..4, 0u32..8).prop_map(
        |(tracks, context_uri, start_kind, n)| {
            let start = match start_kind {
                0 => StartAt::Beginning,
                1 => StartAt::Index(n),
                2 => StartAt::Track(track(n as u8).id),
                _ => StartAt::Track(Id::from_u128(999)),
            };
            PlaySource { context_uri, tracks, start }
        },
    )
}

fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        2 => (arb_device(), 1u64..4, prop::option::weighted(0.2, 0u64..200))
            .prop_map(|(d, connection, last_seq)| Command::Attach { device: info(&d), connection, last_seq }),
        1 => (arb_device(), 1u64..4).prop_map(|(device_id, connection)| Command::Detach { device_id, connection }),
        3 => (prop::option::of(arb_device()), prop::option::of(arb_source()), prop::option::of(0u32..9_000))
            .prop_map(|(device_id, source, position_ms)| Command::Play { device_id, source, position_ms }),
        2 => Just(Command::Pause),
        2 => Just(Command::Resume),
        2 => (0u32..9_000).prop_map(|position_ms| Command::Seek { position_ms }),
        4 => Just(Command::Next),
        2 => Just(Command::Previous),
        1 => any::<bool>().prop_map(|on| Command::Shuffle { on }),
        1 => prop::sample::select(&[RepeatMode::Off, RepeatMode::Context, RepeatMode::Track][..])
            .prop_map(|mode| Command::Repeat { mode }),
        1 => (0u8..=120, prop::option::of(arb_device())).prop_map(|(percent, device_id)| Command::Volume { percent, device_id }),
        2 => arb_track().prop_map(|track| Command::QueueAdd { track }),
        3 => (arb_device(), prop::option::of(any::<bool>())).prop_map(|(device_id, play)| Command::Transfer { device_id, play }),
        2 => (arb_track(), 0u32..9_000, any::<bool>())
            .prop_map(|(t, position_ms, is_playing)| Command::Progress { track_id: t.id, position_ms, is_playing }),
        2 => (arb_track(), prop::option::weighted(0.3, prop::collection::vec(arb_track(), 0..4))).prop_map(|(t, station)| {
            let continuation = station.map(|tracks| Continuation { context_uri: format!("segue:radio:{}", t.id), tracks });
            Command::TrackEnded { track_id: t.id, continuation }
        }),
    ]
}

/// One step: who sends, what, and how much time passed before it (sometimes none, sometimes a
/// jump past the skip window, sometimes backwards, which the session must absorb).
fn arb_step() -> impl Strategy<Value = (Option<String>, Command, i64, u64)> {
    let delay = prop_oneof![3 => Just(0i64), 6 => 0i64..3_000, 1 => 9_000i64..12_000, 1 => -2_000i64..0];
    (prop::option::of(arb_device()), arb_command(), delay, any::<u64>())
}

/// The threshold of the property tests: shorter than most tracks (2 to 8 s), so plays often
/// count and often end before they do.
const STREAM_COUNT_MS: u64 = 1_500;

/// What the property tests know of plays independently of the session: the wall time each
/// playback spent playing on an active device, and the plays counted.
#[derive(Default)]
struct PlayModel {
    wall_played_ms: std::collections::HashMap<PlayId, u64>,
    counted: std::collections::HashSet<PlayId>,
}

impl PlayModel {
    /// `elapsed` ms passed with the session as it is.
    fn time_passes(&mut self, session: &Session, elapsed: u64) {
        let playing = session.active_device_id().is_some() && session.current().is_some_and(|c| c.is_playing);
        if let (true, Some(playback)) = (playing, session.playback()) {
            *self.wall_played_ms.entry(playback.id).or_default() += elapsed;
        }
    }

    /// Never more played than wall time played; a play counts at most once per playback, only
    /// past the threshold, and nothing is told of a play that did not count.
    fn check(&mut self, session: &mut Session) -> Result<(), TestCaseError> {
        let wall = |id: &PlayId| self.wall_played_ms.get(id).copied().unwrap_or(0);
        if let Some(playback) = session.playback() {
            prop_assert!(
                playback.played_ms <= wall(&playback.id),
                "{:?} played more than {} ms",
                playback,
                wall(&playback.id)
            );
        }
        for event in session.take_play_events() {
            prop_assert!(
                event.ms_played <= wall(&event.id),
                "{:?}: more than the {} ms played",
                event,
                wall(&event.id)
            );
            prop_assert!(event.ms_played >= STREAM_COUNT_MS, "{:?} counted early", event);
            if event.counts {
                prop_assert!(self.counted.insert(event.id), "{:?} counted twice", event);
            } else {
                prop_assert!(self.counted.contains(&event.id), "{:?} told before it counted", event);
            }
        }
        Ok(())
    }
}

/// Checks every invariant of a session at `now`.
fn check_invariants(session: &Session, now: u64) -> Result<(), TestCaseError> {
    let wire = session.to_wire();
    let active: Vec<_> = wire.devices.iter().filter(|d| d.is_active).collect();
    prop_assert!(active.len() <= 1, "two active devices: {:?}", wire.devices);
    prop_assert_eq!(active.first().map(|d| d.device_id.clone()), wire.active_device_id.clone());
    if let Some(active) = active.first() {
        prop_assert!(active.online && active.can_play, "the active device cannot play: {:?}", active);
    }
    prop_assert!(wire.devices.iter().filter(|d| d.online).count() <= MAX_ONLINE_DEVICES);
    if let Some(current) = session.current() {
        prop_assert!(current.position_ms <= current.track.duration_ms);
        prop_assert!(current.position_at(now) <= current.track.duration_ms);
        prop_assert!(current.timestamp_ms <= session.clock_ms());
    }
    if let Some(playback) = &wire.playback {
        prop_assert!(playback.position_ms <= playback.duration_ms);
        prop_assert!(playback.position_at(now) <= playback.duration_ms);
    }
    prop_assert!(wire.queue.next.len() <= QUEUE_VIEW_LEN && wire.queue.previous.len() <= QUEUE_VIEW_LEN);
    if let Some(skips) = &wire.skips {
        prop_assert!(skips.used <= skips.limit);
    }
    session.check().map_err(TestCaseError::fail)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_command_sequence_keeps_the_invariants(
        free in any::<bool>(),
        steps in prop::collection::vec(arb_step(), 1..80),
    ) {
        let mut session = Session::new(free.then_some(POLICY));
        session.set_stream_count_ms(STREAM_COUNT_MS);
        let mut now: u64 = 1_000_000;
        let mut skips_taken: Vec<u64> = Vec::new();
        let mut plays = PlayModel::default();
        let mut was_at = now;
        for (sender, command, delay, entropy) in steps {
            now = now.saturating_add_signed(delay);
            // The wall time that passed since the last step (the instant the session takes for
            // it), played by whatever played then; none when time goes back.
            let at = now.max(session.clock_ms());
            plays.time_passes(&session, at.saturating_sub(was_at));
            was_at = at;
            let before = session.clone();
            let is_next = command == Command::Next;
            // A device that saw a later state than the session's (the state was lost).
            let seen = match &command {
                Command::Attach { last_seq: Some(seen), .. } if *seen > before.seq() => Some(*seen),
                _ => None,
            };
            let result = session.apply(sender.as_deref(), command.clone(), now, entropy);
            match result {
                Ok(applied) => {
                    match seen {
                        Some(seen) => prop_assert_eq!(applied.seq, seen + 1, "seq moves past what was seen"),
                        None => prop_assert_eq!(applied.seq, before.seq() + u64::from(applied.changed), "{:?}", command),
                    }
                    prop_assert_eq!(applied.seq, session.seq());
                    if !applied.changed {
                        prop_assert_eq!(session.to_wire(), before.to_wire(), "unchanged but the state moved: {:?}", command);
                    }
                    if is_next {
                        skips_taken.push(session.clock_ms());
                    }
                }
                Err(error) => {
                    prop_assert_eq!(&session, &before, "refused with {:?} but changed: {:?}", error, command);
                }
            }
            check_invariants(&session, now.max(session.clock_ms()))?;
            // Now and then the session's owner counts with no command (its timer fired).
            if entropy % 5 == 0 {
                session.count_due_play(now);
            }
            plays.check(&mut session)?;
            // Now and then the session is activated afresh, as on another node after its node
            // died: the devices of some connections are gone, in one change at most.
            if entropy % 13 == 0 {
                let seq = session.seq();
                let changed = session.offline_where(now, |connection| connection % 2 == entropy % 2);
                prop_assert_eq!(session.seq(), seq + u64::from(changed));
                check_invariants(&session, now.max(session.clock_ms()))?;
                plays.check(&mut session)?;
            }
            if free {
                // Counted independently of the session: no window ever holds more than the limit.
                for &at in &skips_taken {
                    let within = skips_taken.iter().filter(|&&t| t <= at && t + POLICY.window_ms > at).count();
                    prop_assert!(within <= POLICY.limit as usize, "{} skips within one window", within);
                }
            }
        }
        // The borrowed view that is encoded for every `state` event is the owned state, byte
        // for byte.
        let view = rmp_serde::to_vec_named(&session.wire_view()).unwrap();
        prop_assert_eq!(view, rmp_serde::to_vec_named(&session.to_wire()).unwrap());
        // Its snapshot comes back whole, in this format and in the positional one of format 1.
        // (The node's threshold is not part of it: the owner sets it after a load.)
        let reloaded = |bytes: &[u8]| {
            let mut session = snapshot::decode(bytes).unwrap();
            session.set_stream_count_ms(STREAM_COUNT_MS);
            session
        };
        prop_assert_eq!(&reloaded(&snapshot::encode(&session).unwrap()), &session);
        prop_assert_eq!(&reloaded(&rmp_serde::to_vec(&session).unwrap()), &session);
    }

    #[test]
    fn a_transfer_carries_the_position_over(
        position in 0u32..5_000,
        elapsed in 0u64..10_000,
        playing in any::<bool>(),
        play in prop::option::of(any::<bool>()),
    ) {
        let mut session = with_devices(&["phone", "laptop"]);
        let t = TrackRef { id: Id::from_u128(1), duration_ms: 8_000 };
        play_on(&mut session, "phone", vec![t], 1_000);
        session.apply(Some("phone"), Command::Seek { position_ms: position }, 1_000, 0).unwrap();
        if !playing {
            session.apply(Some("phone"), Command::Pause, 1_000, 0).unwrap();
        }
        let expected = session.current().unwrap().position_at(1_000 + elapsed);
        let applied = session
            .apply(Some("phone"), Command::Transfer { device_id: "laptop".into(), play }, 1_000 + elapsed, 0)
            .unwrap();
        prop_assert!(applied.changed);
        let wire = session.to_wire();
        prop_assert_eq!(wire.active_device_id.as_deref(), Some("laptop"));
        let phone = wire.devices.iter().find(|d| d.device_id == "phone").unwrap();
        prop_assert!(!phone.is_active, "the old device is inactive in the very state that activates the new");
        let playback = wire.playback.unwrap();
        prop_assert_eq!(playback.position_ms, expected);
        prop_assert_eq!(playback.timestamp_ms, 1_000 + elapsed);
        prop_assert_eq!(playback.is_playing, play.unwrap_or(playing));
    }
}

proptest! {
    /// On a track that does not end, what the session accounts is exactly the wall time it
    /// played on an active device, whatever pauses, seeks and transfers came between; it counts
    /// once, and exactly when that time reaches the threshold.
    #[test]
    fn the_time_played_is_exactly_the_wall_time_playing(
        steps in prop::collection::vec((0u8..5, 0u64..3_000, 0u32..400_000, any::<bool>()), 1..60),
    ) {
        const THRESHOLD: u64 = 20_000;
        let mut session = with_devices(&["phone", "laptop", "speaker"]);
        session.set_stream_count_ms(THRESHOLD);
        let long = TrackRef { id: Id::from_u128(7), duration_ms: 1_000_000 };
        play_on(&mut session, "phone", vec![long], 1_000);
        let id = session.playback().unwrap().id;
        let (mut now, mut played, mut counts) = (1_000u64, 0u64, 0usize);
        for (kind, delay, position_ms, flag) in steps {
            if session.active_device_id().is_some() && session.current().unwrap().is_playing {
                played += delay;
            }
            now += delay;
            let device = if flag { "laptop" } else { "speaker" };
            let command = match kind {
                0 => Command::Pause,
                1 => Command::Resume,
                2 => Command::Seek { position_ms },
                3 => Command::Transfer { device_id: device.into(), play: None },
                _ => Command::Transfer { device_id: device.into(), play: Some(flag) },
            };
            let _ = session.apply(None, command, now, 0);
            if flag {
                session.count_due_play(now);
            }
            counts += session.take_play_events().iter().filter(|event| event.counts).count();
            let playback = session.playback().unwrap();
            prop_assert_eq!(playback.id, id, "the same play throughout");
            // (A refused command accounts nothing: the next look catches up.)
            if playback.accounted_to_ms == now {
                prop_assert_eq!(playback.played_ms, played);
                prop_assert_eq!(playback.counted, played >= THRESHOLD);
            }
            prop_assert_eq!(playback.counted, counts == 1);
            prop_assert!(counts <= 1);
        }
        session.count_due_play(now);
        counts += session.take_play_events().iter().filter(|event| event.counts).count();
        prop_assert_eq!(counts, usize::from(played >= THRESHOLD), "{} ms played", played);
    }
}

// ----- scenarios -----

fn with_devices(devices: &[&str]) -> Session {
    let mut session = Session::new(None);
    for (n, device) in devices.iter().enumerate() {
        session
            .apply(None, Command::Attach { device: info(device), connection: n as u64, last_seq: None }, 0, 0)
            .unwrap();
    }
    session
}

fn play_on(session: &mut Session, device: &str, tracks: Vec<TrackRef>, now: u64) {
    let source = PlaySource { context_uri: Some("segue:album:x".into()), tracks, start: StartAt::Beginning };
    session
        .apply(Some(device), Command::Play { device_id: None, source: Some(source), position_ms: None }, now, 0)
        .unwrap();
}

fn code(result: Result<Applied, AppError>) -> ErrorCode {
    result.unwrap_err().code
}

#[test]
fn the_sender_plays_when_nothing_is_active_and_a_remote_cannot() {
    let mut session = with_devices(&["phone", "remote"]);
    let source = PlaySource { context_uri: None, tracks: vec![track(1)], start: StartAt::Beginning };
    let play = Command::Play { device_id: None, source: Some(source), position_ms: None };
    assert_eq!(code(session.apply(Some("remote"), play.clone(), 10, 0)), ErrorCode::NoActiveDevice);
    assert_eq!(code(session.apply(None, play.clone(), 10, 0)), ErrorCode::NoActiveDevice);
    session.apply(Some("phone"), play, 10, 0).unwrap();
    assert_eq!(session.active_device_id(), Some("phone"));
    // Now the remote control drives the phone.
    session.apply(Some("remote"), Command::Pause, 20, 0).unwrap();
    assert!(!session.current().unwrap().is_playing);
}

#[test]
fn the_skip_limit_holds_and_says_when_to_retry() {
    let mut session = Session::new(Some(POLICY));
    session.apply(None, Command::Attach { device: info("phone"), connection: 1, last_seq: None }, 0, 0).unwrap();
    play_on(&mut session, "phone", (0..10).map(track).collect(), 1_000);
    for at in [1_000, 2_000, 3_000] {
        session.apply(Some("phone"), Command::Next, at, 0).unwrap();
    }
    let refused = session.apply(Some("phone"), Command::Next, 4_000, 0).unwrap_err();
    assert_eq!((refused.code, refused.retry_after_ms), (ErrorCode::SkipLimit, Some(7_000)));
    // track_ended and a seek past the end never count.
    let current = session.current().unwrap().track;
    session.apply(Some("phone"), Command::TrackEnded { track_id: current.id, continuation: None }, 4_000, 0).unwrap();
    session.apply(Some("phone"), Command::Seek { position_ms: 60_000 }, 4_000, 0).unwrap();
    assert_eq!(session.to_wire().skips.unwrap().used, 3);
    session.apply(Some("phone"), Command::Next, 11_000, 0).unwrap();
}

#[test]
fn previous_restarts_past_three_seconds_and_goes_back_before() {
    let mut session = with_devices(&["phone"]);
    play_on(&mut session, "phone", vec![track(1), track(2)], 0);
    assert_eq!(code(session.apply(Some("phone"), Command::Previous, 1_000, 0)), ErrorCode::NoPrevTrack);
    session.apply(Some("phone"), Command::Next, 1_000, 0).unwrap();
    session.apply(Some("phone"), Command::Previous, 4_500, 0).unwrap();
    let current = session.current().unwrap();
    assert_eq!((current.track, current.position_ms), (track(2), 0));
    session.apply(Some("phone"), Command::Previous, 5_000, 0).unwrap();
    assert_eq!(session.current().unwrap().track, track(1));
}

#[test]
fn the_user_queue_plays_before_the_rest_of_the_context() {
    let mut session = with_devices(&["phone"]);
    play_on(&mut session, "phone", vec![track(1), track(2)], 0);
    session.apply(Some("phone"), Command::QueueAdd { track: track(9) }, 0, 0).unwrap();
    let ids = |session: &Session| session.to_wire().queue.next;
    assert_eq!(ids(&session), [track(9).id.to_string(), track(2).id.to_string()]);
    session.apply(Some("phone"), Command::TrackEnded { track_id: track(1).id, continuation: None }, 10, 0).unwrap();
    assert_eq!(session.current().unwrap().track, track(9));
    assert_eq!(session.to_wire().playback.unwrap().context_uri, None, "a queued track has no context");
    session.apply(Some("phone"), Command::TrackEnded { track_id: track(9).id, continuation: None }, 20, 0).unwrap();
    assert_eq!(session.current().unwrap().track, track(2));
    // The end of the context: back to its start, paused.
    session.apply(Some("phone"), Command::TrackEnded { track_id: track(2).id, continuation: None }, 30, 0).unwrap();
    let current = session.current().unwrap();
    assert_eq!((current.track, current.is_playing), (track(1), false));
}

#[test]
fn autoplay_plays_its_station_only_once_nothing_is_left() {
    let station = |after: TrackRef| Continuation {
        context_uri: format!("segue:radio:{}", after.id),
        tracks: vec![track(7), track(8)],
    };
    let ended = |t: TrackRef| Command::TrackEnded { track_id: t.id, continuation: Some(station(t)) };
    let mut session = with_devices(&["phone"]);
    play_on(&mut session, "phone", vec![track(1), track(2)], 0);
    // Something is left: the station is not needed.
    session.apply(Some("phone"), ended(track(1)), 10, 0).unwrap();
    assert_eq!(session.current().unwrap().track, track(2));
    // The end of the context: the station plays on, under its own context.
    session.apply(Some("phone"), ended(track(2)), 20, 0).unwrap();
    let current = session.current().unwrap();
    assert_eq!((current.track, current.is_playing), (track(7), true));
    let wire = session.to_wire();
    let radio = format!("segue:radio:{}", track(2).id);
    assert_eq!(wire.playback.unwrap().context_uri.as_deref(), Some(radio.as_str()));
    assert_eq!(wire.queue.next, [track(8).id.to_string()]);
    // Repeat of the track wins over the station.
    session.apply(Some("phone"), Command::Repeat { mode: RepeatMode::Track }, 30, 0).unwrap();
    session.apply(Some("phone"), ended(track(7)), 40, 0).unwrap();
    assert_eq!(session.current().unwrap().track, track(7));
    // An empty station ends playback as if there were none.
    session.apply(Some("phone"), Command::Repeat { mode: RepeatMode::Off }, 50, 0).unwrap();
    session.apply(Some("phone"), Command::Next, 60, 0).unwrap();
    let empty = Continuation { context_uri: "segue:radio:x".into(), tracks: vec![] };
    session
        .apply(Some("phone"), Command::TrackEnded { track_id: track(8).id, continuation: Some(empty) }, 70, 0)
        .unwrap();
    assert!(!session.current().unwrap().is_playing);
}

#[test]
fn progress_changes_the_state_only_beyond_a_second_of_drift() {
    let mut session = with_devices(&["phone", "laptop"]);
    play_on(&mut session, "phone", vec![TrackRef { id: Id::from_u128(5), duration_ms: 100_000 }], 0);
    let progress = |position_ms| Command::Progress { track_id: Id::from_u128(5), position_ms, is_playing: true };
    assert_eq!(code(session.apply(Some("laptop"), progress(10_000), 10_000, 0)), ErrorCode::NotActiveDevice);
    assert!(!session.apply(Some("phone"), progress(10_900), 10_000, 0).unwrap().changed);
    assert!(session.apply(Some("phone"), progress(8_000), 10_000, 0).unwrap().changed);
    assert_eq!(session.current().unwrap().position_at(11_000), 9_000);
}

#[test]
fn the_active_device_going_offline_stops_playback_where_it_was() {
    let mut session = with_devices(&["phone", "laptop"]);
    play_on(&mut session, "phone", vec![track(6)], 0);
    // A detach from an older connection of the device is ignored.
    assert!(
        !session.apply(None, Command::Detach { device_id: "phone".into(), connection: 99 }, 500, 0).unwrap().changed
    );
    session.apply(None, Command::Detach { device_id: "phone".into(), connection: 0 }, 1_500, 0).unwrap();
    assert_eq!(session.active_device_id(), None);
    let current = session.current().unwrap();
    assert_eq!((current.is_playing, current.position_ms), (false, 1_500));
    assert_eq!(
        code(session.apply(Some("laptop"), Command::Transfer { device_id: "phone".into(), play: None }, 2_000, 0)),
        ErrorCode::DeviceNotControllable
    );
}

#[test]
fn a_new_activation_takes_offline_only_the_devices_whose_connections_are_gone() {
    // Connections 0, 1 and 2: the phone, the laptop (active) and the speaker.
    let mut session = with_devices(&["phone", "laptop", "speaker"]);
    play_on(&mut session, "laptop", vec![track(6)], 0);
    let seq = session.seq();

    // Nothing stale: nothing changes.
    assert!(!session.offline_where(1_000, |_| false));
    assert_eq!(session.seq(), seq);

    // The phone's connection is gone; the laptop still plays, in one change.
    assert!(session.offline_where(1_000, |connection| connection == 0));
    assert_eq!(session.seq(), seq + 1);
    assert!(!session.device("phone").unwrap().online);
    assert_eq!(session.active_device_id(), Some("laptop"));
    assert!(session.current().unwrap().is_playing);

    // The laptop's and the speaker's go too: playback stops where it was, again in one change.
    assert!(session.offline_where(2_500, |connection| connection >= 1));
    assert_eq!(session.seq(), seq + 2);
    assert_eq!(session.active_device_id(), None);
    let current = session.current().unwrap();
    assert_eq!((current.is_playing, current.position_ms), (false, 2_500));
    assert!(session.devices().iter().all(|d| !d.online));
}

#[test]
fn the_eleventh_device_is_refused() {
    let mut session = Session::new(None);
    for n in 0..MAX_ONLINE_DEVICES {
        let mut device = info("phone");
        device.id = format!("device-{n}");
        session.apply(None, Command::Attach { device, connection: n as u64, last_seq: None }, 0, 0).unwrap();
    }
    let mut eleventh = info("phone");
    eleventh.id = "device-10".into();
    let refused = session.apply(None, Command::Attach { device: eleventh, connection: 10, last_seq: None }, 0, 0);
    assert_eq!(code(refused), ErrorCode::TooManyDevices);
    // The same device reconnecting is no new device.
    let mut again = info("phone");
    again.id = "device-3".into();
    assert!(
        !session.apply(None, Command::Attach { device: again, connection: 11, last_seq: None }, 0, 0).unwrap().changed
    );
}

// ----- stream counting -----

fn long_track(n: u128) -> TrackRef {
    TrackRef { id: Id::from_u128(n), duration_ms: 200_000 }
}

fn counting_session(devices: &[&str]) -> Session {
    let mut session = with_devices(devices);
    session.set_stream_count_ms(30_000);
    session
}

#[test]
fn a_play_counts_once_through_pause_seek_and_transfer_and_only_the_time_played() {
    let mut session = counting_session(&["phone", "laptop"]);
    play_on(&mut session, "phone", vec![long_track(1), long_track(2)], 0);
    let id = session.playback().unwrap().id;
    // 10 s played, 50 s paused (not counted).
    session.apply(Some("phone"), Command::Pause, 10_000, 0).unwrap();
    session.apply(Some("phone"), Command::Resume, 60_000, 0).unwrap();
    // 5 s, then a seek 100 s forward: the skipped part is not counted.
    session.apply(Some("phone"), Command::Seek { position_ms: 115_000 }, 65_000, 0).unwrap();
    assert_eq!(session.playback().unwrap().played_ms, 15_000);
    assert!(session.take_play_events().is_empty());
    assert_eq!(session.play_due_at(), Some(65_000 + 15_000));
    // 10 s more, then moved to the laptop, which plays on.
    session.apply(Some("phone"), Command::Transfer { device_id: "laptop".into(), play: None }, 75_000, 0).unwrap();
    assert!(!session.count_due_play(79_999), "25 s played: not yet");
    assert!(session.count_due_play(80_000));
    let events = session.take_play_events();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].id, events[0].counts, events[0].ms_played, events[0].ended), (id, true, 30_000, None));
    assert_eq!(events[0].context_uri.as_deref(), Some("segue:album:x"));
    assert!(!session.count_due_play(90_000), "counted once");
    assert_eq!(session.play_due_at(), None);
    // The laptop goes away: the counted play stops, and says so.
    session.apply(None, Command::Detach { device_id: "laptop".into(), connection: 1 }, 95_000, 0).unwrap();
    let events = session.take_play_events();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].counts, events[0].ms_played, events[0].ended), (false, 45_000, Some(EndReason::Stop)));
    // Resumed on the phone and skipped: the same play ends, and the next one starts afresh.
    session
        .apply(Some("phone"), Command::Play { device_id: None, source: None, position_ms: None }, 100_000, 0)
        .unwrap();
    session.apply(Some("phone"), Command::Next, 102_000, 0).unwrap();
    let events = session.take_play_events();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].id, events[0].ms_played, events[0].ended), (id, 47_000, Some(EndReason::Skip)));
    let next = session.playback().unwrap();
    assert_ne!(next.id, id);
    assert_eq!((next.played_ms, next.counted), (0, false));
}

#[test]
fn a_repeat_counts_again_and_a_play_ended_early_never_counts() {
    let mut session = counting_session(&["phone"]);
    play_on(&mut session, "phone", vec![long_track(1), long_track(2)], 0);
    session.apply(Some("phone"), Command::Repeat { mode: RepeatMode::Track }, 0, 0).unwrap();
    // The track plays through and ends twice: two plays, each counted once, at its end.
    session
        .apply(Some("phone"), Command::TrackEnded { track_id: long_track(1).id, continuation: None }, 200_000, 0)
        .unwrap();
    session
        .apply(Some("phone"), Command::TrackEnded { track_id: long_track(1).id, continuation: None }, 400_000, 0)
        .unwrap();
    let events = session.take_play_events();
    assert_eq!(events.len(), 2);
    assert_ne!(events[0].id, events[1].id);
    for event in &events {
        assert_eq!((event.counts, event.ms_played, event.ended), (true, 200_000, Some(EndReason::TrackDone)));
    }
    // 29 s, then next: never counted.
    session.apply(Some("phone"), Command::Repeat { mode: RepeatMode::Off }, 400_000, 0).unwrap();
    session.apply(Some("phone"), Command::Next, 429_000, 0).unwrap();
    assert!(session.take_play_events().is_empty());
}

#[test]
fn a_refused_command_does_not_account_and_a_private_play_is_flagged() {
    let mut session = counting_session(&["phone", "remote"]);
    session.apply(None, Command::PrivateSession { enabled: true, duration_ms: 10_000_000 }, 0, 0).unwrap();
    play_on(&mut session, "phone", vec![long_track(1)], 0);
    let before = session.clone();
    assert_eq!(code(session.apply(Some("remote"), Command::Resume, 20_000, 0)), ErrorCode::AlreadyPlaying);
    assert_eq!(session, before);
    assert!(session.count_due_play(30_000));
    let events = session.take_play_events();
    assert!(events[0].private, "{events:?}");
}

#[test]
fn a_takeover_from_the_snapshot_counts_the_same_play_under_the_same_id() {
    let mut session = counting_session(&["phone"]);
    play_on(&mut session, "phone", vec![long_track(1)], 1_000);
    session.apply(Some("phone"), Command::Seek { position_ms: 5_000 }, 2_000, 0).unwrap();
    let stored = snapshot::encode(&session).unwrap();
    assert!(session.count_due_play(31_000));
    let first = session.take_play_events();
    // Another node takes over from the snapshot stored before the count; the device's
    // connection is gone, so playback stops where it is: the play counts again, same id.
    let mut taken_over = snapshot::decode(&stored).unwrap();
    taken_over.set_stream_count_ms(30_000);
    assert!(taken_over.offline_where(33_000, |_| true));
    let again = taken_over.take_play_events();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].counts), (first[0].id, true));
    assert_eq!((again[0].ms_played, again[0].ended), (32_000, Some(EndReason::Stop)));
}

#[test]
fn a_snapshot_without_playback_loads_and_starts_accounting() {
    let mut session = counting_session(&["phone"]);
    play_on(&mut session, "phone", vec![long_track(1)], 0);
    let value: rmpv::Value = rmp_serde::from_slice(&snapshot::encode(&session).unwrap()).unwrap();
    let rmpv::Value::Map(mut map) = value else { panic!("a map") };
    map.retain(|(key, _)| key.as_str() != Some("playback"));
    let mut old = snapshot::decode(&rmp_serde::to_vec(&rmpv::Value::Map(map)).unwrap()).unwrap();
    assert_eq!(old.playback(), None);
    old.set_stream_count_ms(30_000);
    assert!(!old.count_due_play(10_000), "accounting starts at the first look");
    assert!(old.count_due_play(40_000));
}

#[test]
fn a_play_id_is_frozen_as_user_seq_and_start() {
    // Another version taking a session over must derive the same key, or it counts twice.
    let id = PlayId { start_seq: 42, started_at_ms: 1_700_000_000_123 };
    let user = Id::from_u128(5);
    assert_eq!(id.key(user), format!("{user}:42:1700000000123"));
}
