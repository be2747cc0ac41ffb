//! The bare relay: the floor Segue is compared against (DESIGN.md). It accepts WebSockets at
//! `/?user=<u>&device=<d>` with no authentication and forwards every binary frame from a
//! connection, unchanged, to every other connection of the same user. No decoding, no state,
//! no logic: a tokio-tungstenite server on a 2-worker multi-thread runtime.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::ws;

/// Frames queued for one connection before more are dropped (the peer is not reading).
const QUEUE: usize = 1024;
/// The relay's read buffer per connection, as small as Segue's.
const READ_BUFFER: usize = 1024;

#[derive(Args, Debug, Clone)]
pub struct RelayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7500")]
    pub listen: String,
}

/// The connections of one user, each with the sender of its outbound queue.
type Room = Vec<(u64, mpsc::Sender<Bytes>)>;

/// The relay's connections, by user.
#[derive(Default)]
pub struct Relay {
    rooms: Mutex<HashMap<String, Arc<Mutex<Room>>>>,
    next_connection: AtomicU64,
    /// Frames dropped because a peer's queue was full.
    dropped: AtomicU64,
}

impl Relay {
    /// Binds `listen`; returns the listener and the address it got (port 0 picks one).
    pub async fn bind(listen: &str) -> Result<(TcpListener, std::net::SocketAddr), String> {
        let listener =
            TcpListener::bind(listen).await.map_err(|error| format!("relay: cannot listen on {listen}: {error}"))?;
        let address = listener.local_addr().map_err(|error| format!("relay: {error}"))?;
        Ok((listener, address))
    }

    /// Accepts connections until the listener fails.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(self.clone().connection(stream));
                }
                Err(error) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    eprintln!("relay: accept failed: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// How many frames were dropped for peers that did not read.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    async fn connection(self: Arc<Self>, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let mut user = None;
        #[expect(clippy::result_large_err, reason = "the signature is tungstenite's handshake callback")]
        let callback = |request: &Request, response: Response| match user_of(request.uri().query().unwrap_or("")) {
            Some(name) => {
                user = Some(name);
                Ok(response)
            }
            None => {
                let mut refusal = ErrorResponse::new(Some("connect to /?user=<u>&device=<d>".to_string()));
                *refusal.status_mut() = StatusCode::BAD_REQUEST;
                Err(refusal)
            }
        };
        let accepted =
            tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws::config(READ_BUFFER))).await;
        let (Ok(mut socket), Some(user)) = (accepted, user) else {
            return;
        };

        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let (sender, mut outbound) = mpsc::channel(QUEUE);
        let room = self.join(&user, id, sender);
        loop {
            tokio::select! {
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Binary(frame))) => self.forward(&room, id, frame),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
                Some(frame) = outbound.recv() => {
                    if socket.send(Message::Binary(frame)).await.is_err() {
                        break;
                    }
                }
            }
        }
        self.leave(&user, &room, id);
        let _ = socket.close(None).await;
    }

    /// Queues `frame` for every connection of the room but `from`.
    fn forward(&self, room: &Mutex<Room>, from: u64, frame: Bytes) {
        for (id, sender) in lock(room).iter() {
            if *id != from && sender.try_send(frame.clone()).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn join(&self, user: &str, id: u64, sender: mpsc::Sender<Bytes>) -> Arc<Mutex<Room>> {
        let room = lock(&self.rooms).entry(user.to_string()).or_default().clone();
        lock(&room).push((id, sender));
        room
    }

    fn leave(&self, user: &str, room: &Arc<Mutex<Room>>, id: u64) {
        let mut rooms = lock(&self.rooms);
        let mut members = lock(room);
        members.retain(|(member, _)| *member != id);
        if members.is_empty() {
            rooms.remove(user);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `user` of a `user=<u>&device=<d>` query.
fn user_of(query: &str) -> Option<String> {
    let mut user = None;
    let mut device = false;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("user", value)) if !value.is_empty() => user = Some(value.to_string()),
            Some(("device", value)) if !value.is_empty() => device = true,
            _ => {}
        }
    }
    user.filter(|_| device)
}

/// `segue-load relay`: serves until Ctrl-C.
pub async fn main(args: &RelayArgs) -> Result<(), String> {
    let (listener, address) = Relay::bind(&args.listen).await?;
    let relay = Arc::new(Relay::default());
    println!("relay listening on ws://{address}");
    tokio::select! {
        () = relay.clone().serve(listener) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    println!("relay stopped; {} frames dropped for peers that did not read", relay.dropped());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::connect;

    #[test]
    fn the_query_names_user_and_device() {
        assert_eq!(user_of("user=7&device=2"), Some("7".into()));
        assert_eq!(user_of("device=a&user=lg-3"), Some("lg-3".into()));
        assert_eq!(user_of("user=7"), None);
        assert_eq!(user_of(""), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frames_go_to_the_other_devices_of_the_same_user_only() {
        let (listener, address) = Relay::bind("127.0.0.1:0").await.unwrap();
        tokio::spawn(Arc::new(Relay::default()).serve(listener));
        let url = |user: u32, device: u32| format!("ws://{address}/?user={user}&device={device}");
        let mut a = connect(&url(1, 0), None, 1024).await.unwrap();
        let mut b = connect(&url(1, 1), None, 1024).await.unwrap();
        let mut other = connect(&url(2, 0), None, 1024).await.unwrap();
        assert!(connect(&format!("ws://{address}/"), None, 1024).await.is_err());

        a.send(Message::Binary(Bytes::from_static(b"\x81\xa1a\x01"))).await.unwrap();
        let received = b.next().await.unwrap().unwrap();
        assert_eq!(received, Message::Binary(Bytes::from_static(b"\x81\xa1a\x01")));
        other.send(Message::Binary(Bytes::from_static(b"\x80"))).await.unwrap();
        b.send(Message::Binary(Bytes::from_static(b"\x81\xa1b\x02"))).await.unwrap();
        let received = a.next().await.unwrap().unwrap();
        assert_eq!(
            received,
            Message::Binary(Bytes::from_static(b"\x81\xa1b\x02")),
            "user 2's frame does not reach user 1"
        );
    }
}
