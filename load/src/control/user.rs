//! One simulated user: its devices' sockets, its last known session state, and the task that
//! sends its share of the schedule and times every delivery to its other devices.
//!
//! All of a user's sockets live in one task, read through one `poll_fn`, so matching a
//! command to its deliveries needs no lock and no channel hop between devices.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use segue::reproducible::{SeededRng, seeded_rng};
use segue_protocol::envelope::encode_event;
use segue_protocol::request::{Hello, Play, SeqReply};
use segue_protocol::state::{DeviceState, DeviceType, Playback, QueueView, RepeatMode};
use segue_protocol::{Request, ServerFrame, SessionState};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::commands;
use super::tracker::Tracker;
use crate::nodes;
use crate::stats::{Phase, Stats, Tally};
use crate::ws::{self, Head, Socket};

/// No `state` at a device within this long after the command is a timeout.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a user task gives up on late deliveries and merges its tally.
const SWEEP_EVERY: Duration = Duration::from_millis(100);
/// Read buffer per simulated device: frames are well under a kilobyte.
const READ_BUFFER: usize = 4 * 1024;
/// How many tracks each user's queue starts with.
const TRACKS_PER_USER: usize = 5;
/// The request id of the `play` that starts each user's playback, after `hello`.
const PLAY_ID: u32 = ws::HELLO_ID + 1;
/// Device types the simulated devices take, in turn.
const DEVICE_TYPES: [DeviceType; 4] =
    [DeviceType::Computer, DeviceType::Smartphone, DeviceType::Speaker, DeviceType::Tv];

/// What the users talk to.
#[derive(Debug, Clone)]
pub enum Target {
    /// Segue: `ws_urls` are the `/v1/connect` URLs of its nodes (one unless it is a cluster),
    /// over which each user's devices are spread; `tracks` are playable track ids.
    Segue { ws_urls: Arc<Vec<String>>, tracks: Arc<Vec<String>> },
    /// The bare relay at `url`, with frames of about `frame_bytes`.
    Relay { url: String, frame_bytes: usize },
}

impl Target {
    /// The socket URLs the devices connect to: one per node (the relay is one node).
    pub fn urls(&self) -> Vec<String> {
        match self {
            Target::Segue { ws_urls, .. } => ws_urls.to_vec(),
            Target::Relay { url, .. } => vec![url.clone()],
        }
    }
}

/// Who a simulated user is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub index: usize,
    /// The username (Segue) or the relay's `user` key.
    pub name: String,
    /// The access token (Segue only).
    pub token: Option<String>,
}

/// How this user's commands are made.
enum Mode {
    /// Commands chosen from the last known state; `tracks` to play when nothing plays.
    Segue { tracks: Vec<String> },
    /// State frames the client numbers itself, from a template of about the size of Segue's.
    Relay { template: SessionState },
}

struct Device {
    socket: Socket,
    alive: bool,
    next_request: u32,
}

/// A user whose devices are connected, ready to [`run`](User::run).
pub struct User {
    devices: Vec<Device>,
    mode: Mode,
    /// The newest state any of the devices received.
    state: SessionState,
    tracker: Tracker,
    tally: Tally,
    rng: SeededRng,
    /// The device that sends the next command, in turn.
    next_sender: usize,
    /// The device polled first, in turn, so that no socket starves the others.
    next_poll: usize,
}

impl User {
    /// Connects the user's `devices` devices; against Segue every device, on its node (see
    /// [`nodes::node_of`]), says hello and the first one starts playback.
    pub async fn connect(target: &Target, who: &Identity, devices: usize) -> Result<User, String> {
        let mut sockets = Vec::with_capacity(devices);
        let (mode, state) = match target {
            Target::Segue { ws_urls, tracks } => {
                let mut state = None;
                for index in 0..devices {
                    let ws_url = &ws_urls[nodes::node_of(who.index, index, ws_urls.len())];
                    let mut socket = ws::connect(ws_url, who.token.as_deref(), READ_BUFFER).await?;
                    let welcome = ws::hello(&mut socket, hello(index)).await?;
                    state = Some(welcome.state);
                    sockets.push(socket);
                }
                let tracks: Vec<String> = (0..TRACKS_PER_USER.min(tracks.len()))
                    .map(|k| tracks[(who.index * TRACKS_PER_USER + k) % tracks.len()].clone())
                    .collect();
                start_playback(&mut sockets[0], &tracks)
                    .await
                    .map_err(|error| format!("{}: starting playback: {error}", who.name))?;
                let state = state.ok_or("a user needs at least one device")?;
                (Mode::Segue { tracks }, state)
            }
            Target::Relay { url, frame_bytes } => {
                let base = url.trim_end_matches('/');
                for index in 0..devices {
                    let url = format!("{base}/?user={}&device={index}", who.name);
                    sockets.push(ws::connect(&url, None, READ_BUFFER).await?);
                }
                let template = relay_template(devices, *frame_bytes);
                let state = template.clone();
                (Mode::Relay { template }, state)
            }
        };
        let devices = sockets
            .into_iter()
            .map(|socket| Device { socket, alive: true, next_request: PLAY_ID + 1 })
            .collect::<Vec<_>>();
        Ok(User {
            tracker: Tracker::new(devices.len(), DELIVERY_TIMEOUT),
            devices,
            mode,
            state,
            tally: Tally::default(),
            rng: seeded_rng(0x5E67_E000 + who.index as u64),
            next_sender: who.index,
            next_poll: 0,
        })
    }

    /// Sends a command on every tick from the scheduler and times its deliveries, until the
    /// schedule ends and the last deliveries came in or timed out; then closes the sockets.
    pub async fn run(mut self, mut ticks: mpsc::Receiver<()>, phase: Arc<Phase>, stats: Arc<Stats>) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut drain_until = None;
        loop {
            tokio::select! {
                biased;
                (device, message) = next_message(&mut self.devices, &mut self.next_poll) => {
                    self.on_message(device, message, phase.measuring());
                }
                tick = ticks.recv(), if drain_until.is_none() => match tick {
                    Some(()) => self.send_command(phase.measuring()).await,
                    None => drain_until = Some(Instant::now() + DELIVERY_TIMEOUT),
                },
                _ = sweep.tick() => {
                    let now = Instant::now();
                    self.tracker.sweep(now, &mut self.tally);
                    stats.absorb(&mut self.tally);
                    if drain_until.is_some_and(|until| self.tracker.is_idle() || now >= until) {
                        break;
                    }
                }
            }
        }
        self.tracker.sweep(Instant::now() + DELIVERY_TIMEOUT, &mut self.tally);
        stats.absorb(&mut self.tally);
        for device in self.devices.iter_mut().filter(|d| d.alive) {
            let _ = tokio::time::timeout(Duration::from_secs(1), device.socket.close(None)).await;
        }
    }

    /// Sends the next command from the next device that has none in flight.
    async fn send_command(&mut self, measured: bool) {
        let count = self.devices.len();
        let free = (0..count)
            .map(|k| (self.next_sender + k) % count)
            .find(|&d| self.devices[d].alive && !self.tracker.awaiting_reply(d));
        let Some(sender) = free else {
            if measured {
                self.tally.skipped_busy += 1;
            }
            return;
        };
        self.next_sender = (sender + 1) % count;
        let device = &mut self.devices[sender];
        let (frame, request, seq) = match &mut self.mode {
            Mode::Segue { tracks } => {
                let command = commands::choose(&self.state, tracks, &mut self.rng);
                let id = device.next_request;
                device.next_request = id.wrapping_add(1);
                (commands::encode(&command, id), Some(id), None)
            }
            Mode::Relay { template } => {
                template.seq += 1;
                let seq = template.seq;
                (encode_event("state", Some(seq), template), None, Some(seq))
            }
        };
        let t0 = Instant::now();
        if let Err(error) = device.socket.send(Message::Binary(frame.into())).await {
            self.lose(sender, &format!("SEND_FAILED ({error})"));
            return;
        }
        if measured {
            self.tally.commands += 1;
        }
        let online = self.online();
        self.tracker.sent(sender, request, seq, t0, online, measured);
    }

    fn on_message(&mut self, device: usize, message: Option<Result<Message, WsError>>, measuring: bool) {
        let at = Instant::now();
        let bytes = match message {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map_or(0, |f| u16::from(f.code));
                return self.lose(device, &format!("CLOSED_{code}"));
            }
            Some(Ok(_)) => return,
            Some(Err(error)) => return self.lose(device, &format!("SOCKET_ERROR ({error})")),
            None => return self.lose(device, "SOCKET_ENDED"),
        };
        let Some(head) = Head::decode(&bytes) else {
            return self.tally.error("UNDECODABLE_FRAME");
        };
        match (head.kind, head.seq) {
            ("state", Some(seq)) => {
                if measuring {
                    self.tally.state_events += 1;
                    self.tally.state_bytes += bytes.len() as u64;
                }
                self.tracker.state(device, seq, at, &mut self.tally);
                if seq > self.state.seq {
                    match ws::decode_state(&bytes) {
                        Some(state) => self.state = state,
                        None => self.tally.error("UNDECODABLE_STATE"),
                    }
                }
            }
            ("reply", _) => self.on_reply(device, &bytes, at),
            _ => {}
        }
    }

    fn on_reply(&mut self, device: usize, bytes: &[u8], at: Instant) {
        let Ok(reply) = ServerFrame::decode(bytes) else {
            return self.tally.error("UNDECODABLE_REPLY");
        };
        let Some(id) = reply.id else { return };
        let seq = match (reply.ok, reply.body_as::<SeqReply>()) {
            (Some(true), Ok(body)) => Ok(body.seq),
            (Some(true), Err(_)) => Err("REPLY_WITHOUT_SEQ".to_string()),
            _ => Err(reply.error.map_or("REFUSED_WITHOUT_ERROR".to_string(), |e| e.code.to_string())),
        };
        let measured = self.tracker.replied(device, id, seq.as_ref().ok().copied(), at, &mut self.tally);
        if let (Some(true), Err(error)) = (measured, seq) {
            self.tally.error(&error);
        }
    }

    /// The device's socket closed or failed: it takes no more part in the run.
    fn lose(&mut self, device: usize, why: &str) {
        self.devices[device].alive = false;
        self.tracker.lost(device);
        self.tally.disconnects += 1;
        self.tally.error(why);
    }

    /// A bit per device whose socket is open.
    fn online(&self) -> u64 {
        self.devices.iter().enumerate().filter(|(_, d)| d.alive).fold(0, |mask, (i, _)| mask | 1 << i)
    }
}

/// The next message on any open socket of the user, starting the round at `next_poll`.
async fn next_message(devices: &mut [Device], next_poll: &mut usize) -> (usize, Option<Result<Message, WsError>>) {
    poll_fn(|cx| {
        let count = devices.len();
        for k in 0..count {
            let index = (*next_poll + k) % count;
            let device = &mut devices[index];
            if !device.alive {
                continue;
            }
            if let Poll::Ready(message) = device.socket.poll_next_unpin(cx) {
                *next_poll = (index + 1) % count;
                return Poll::Ready((index, message));
            }
        }
        Poll::Pending
    })
    .await
}

/// The hello of the user's device number `index`. Every device can play; every third one,
/// starting with the second, has no volume control.
fn hello(index: usize) -> Hello {
    Hello {
        device_id: format!("load-d{index}"),
        name: format!("Load device {index}"),
        device_type: DEVICE_TYPES[index % DEVICE_TYPES.len()],
        can_play: true,
        supports_volume: index % 3 != 1,
        volume_percent: Some(50),
        last_seq: None,
    }
}

/// Plays `tracks` on the first device (`load-d0`) and waits for the reply.
async fn start_playback(socket: &mut Socket, tracks: &[String]) -> Result<(), String> {
    let play =
        Request::Play(Play { uris: Some(tracks.to_vec()), device_id: Some(hello(0).device_id), ..Play::default() });
    socket.send(Message::Binary(commands::encode(&play, PLAY_ID).into())).await.map_err(|error| error.to_string())?;
    let reply = tokio::time::timeout(ws::HANDSHAKE_TIMEOUT, ws::reply(socket))
        .await
        .map_err(|_| format!("no reply within {:?}", ws::HANDSHAKE_TIMEOUT))??;
    match reply.error {
        None if reply.ok == Some(true) => Ok(()),
        Some(error) => Err(format!("{} {}", error.code, error.message)),
        None => Err("a reply that is neither ok nor an error".to_string()),
    }
}

/// A session state shaped like the ones Segue sends to `devices` devices, with queue entries
/// added until its event frame is at least `frame_bytes` long.
fn relay_template(devices: usize, frame_bytes: usize) -> SessionState {
    let mut state = SessionState {
        seq: 0,
        active_device_id: Some(hello(0).device_id),
        devices: (0..devices)
            .map(|index| {
                let hello = hello(index);
                DeviceState {
                    is_active: index == 0,
                    online: true,
                    device_id: hello.device_id,
                    name: hello.name,
                    device_type: hello.device_type,
                    can_play: hello.can_play,
                    supports_volume: hello.supports_volume,
                    volume_percent: hello.volume_percent,
                    is_private_session: false,
                }
            })
            .collect(),
        playback: Some(Playback {
            track_id: "0RelayTrack00000000000".to_string(),
            context_uri: None,
            duration_ms: 215_000,
            is_playing: true,
            position_ms: 61_000,
            timestamp_ms: 1_790_000_000_000,
            shuffle: false,
            repeat: RepeatMode::Off,
        }),
        queue: QueueView::default(),
        skips: None,
    };
    while encode_event("state", Some(u64::MAX), &state).len() < frame_bytes {
        let track = format!("{:0>22}", state.queue.next.len() + 1);
        state.queue.next.push(track);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_template_reaches_the_frame_size() {
        for (devices, bytes) in [(2, 500), (3, 600), (3, 1_500), (10, 2_000)] {
            let state = relay_template(devices, bytes);
            let frame = encode_event("state", Some(1), &state);
            // Queue entries are only added, so a target below the bare state's size is passed
            // by the bare state; past it, by at most one entry (~30 bytes).
            let bare = encode_event("state", Some(1), &relay_template(devices, 0)).len();
            assert!(frame.len() >= bytes - 8, "{} < {bytes}", frame.len());
            assert!(frame.len() < bytes.max(bare) + 40, "{} with {devices} devices, target {bytes}", frame.len());
            assert_eq!(state.devices.len(), devices);
            assert_eq!(ws::decode_state(&frame), Some(state));
        }
    }

    #[test]
    fn devices_are_told_apart() {
        let (a, b) = (hello(0), hello(1));
        assert_ne!(a.device_id, b.device_id);
        assert!(a.supports_volume && !b.supports_volume);
    }
}
