//! What a device connection needs from the node, [`Backend`], and the real one, [`NodeBackend`]:
//! the token check, attaching a device (its outbound queue in the hub, this node's subscription
//! to the user's events, the `Attach` in the session), a command (resolved against the catalog,
//! applied by the session), and detaching. The socket loop (`device.rs`) knows the protocol and
//! its timing; everything it asks of the rest of the server goes through here.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::DefaultClock;
use segue_protocol::activity::Friends;
use segue_protocol::playlist::{PlaylistView, SnapshotReply};
use segue_protocol::request::Hello;
use segue_protocol::{ErrorCode, Request, SessionState};

use crate::actors::activity::{MAX_FRIENDS, friend_activity};
use crate::actors::hub::Outbound;
use crate::actors::topics::Topic;
use crate::auth::Authenticated;
use crate::config::ServerConfig;
use crate::domain::Viewer;
use crate::error::{AppError, AppResult};
use crate::gateway::Services;
use crate::gateway::requests::{command_for, device_info, playlist_edit_for, playlist_id};
use crate::ids::Id;
use crate::metrics::Metrics;
use crate::player::Command;

/// A device that said `hello`, attached: its connection id, its outbound queue, and the state
/// its `welcome` carries.
pub struct Attachment {
    pub connection: u64,
    pub outbound: Outbound,
    pub state: SessionState,
}

/// Why a `hello` did not attach the device.
pub enum AttachRefused {
    /// The node is draining: the device must reconnect elsewhere.
    Draining,
    /// The token the socket was opened with has been revoked since (a logout, a new password).
    Revoked,
    /// The session refused (`TOO_MANY_DEVICES`, …) or could not be reached.
    Error(AppError),
}

/// What a device connection asks of the node.
pub trait Backend: 'static {
    fn config(&self) -> &ServerConfig;
    fn metrics(&self) -> &Metrics;
    /// The clock of the connection's rate limiter.
    fn clock(&self) -> &DefaultClock;
    /// The user behind an access token (`auth` renews a connection's token).
    fn authenticate(&self, token: &str) -> impl Future<Output = AppResult<Authenticated>>;
    /// Attaches the device of `hello`.
    fn attach(&self, user: &Viewer, hello: &Hello) -> impl Future<Output = Result<Attachment, AttachRefused>>;
    /// Runs a request through the user's session; answers the session's `seq` after it.
    fn command(&self, user: &Viewer, device_id: &str, request: Request) -> impl Future<Output = AppResult<u64>>;
    /// The device is gone: it is forgotten here and goes offline in the session.
    fn detach(&self, user: Id, device_id: String, connection: u64) -> impl Future<Output = ()>;
    /// `activity_subscribe`: the followed users' activity now, and `friend_activity` events for
    /// this connection from then on.
    fn activity_subscribe(&self, _user: &Viewer, _connection: u64) -> impl Future<Output = AppResult<Friends>> {
        async { Err(AppError::refusal(ErrorCode::UnknownType, "friend activity is not served here")) }
    }

    /// Serves a §6 playlist request (`playlist_subscribe`, `playlist_unsubscribe`,
    /// `playlist_edit`) of the device on `connection`.
    fn playlist(
        &self,
        _user: &Viewer,
        _connection: u64,
        request: Request,
    ) -> impl Future<Output = AppResult<PlaylistAnswer>> {
        let refused = AppError::new(ErrorCode::UnknownType, format!("`{}` is not served here", request.type_name()));
        std::future::ready(Err(refused))
    }
}

/// What a §6 playlist request answers.
pub enum PlaylistAnswer {
    /// The whole playlist (`playlist_subscribe`).
    Playlist(PlaylistView),
    /// The snapshot after an edit (`playlist_edit`).
    Snapshot(SnapshotReply),
    /// `{}` (`playlist_unsubscribe`).
    Done,
}

/// The node's backend.
pub struct NodeBackend(pub Arc<Services>);

impl Backend for NodeBackend {
    fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    fn clock(&self) -> &DefaultClock {
        &self.0.clock
    }

    async fn authenticate(&self, token: &str) -> AppResult<Authenticated> {
        self.0.accounts.authenticate(token).await
    }

    async fn attach(&self, user: &Viewer, hello: &Hello) -> Result<Attachment, AttachRefused> {
        let services = &self.0;
        // A logout between the upgrade and the hello: this socket was not in the hub to be closed.
        match services.accounts.profile(user.id).await {
            Ok(current) if current.token_version != user.token_version => return Err(AttachRefused::Revoked),
            Ok(_) => {}
            Err(error) => return Err(AttachRefused::Error(error)),
        }
        let Some((connection, outbound)) = services.hub.connect(user.id) else {
            return Err(AttachRefused::Draining);
        };
        // This node must receive the user's events before the device attaches, or it could miss
        // the state the attach itself causes.
        let attached = match services.bus.watch(user.id).await {
            Ok(()) => services.sessions.attach(user.id, device_info(hello), connection, hello.last_seq).await,
            Err(error) => Err(error),
        };
        match attached {
            Ok(state) => Ok(Attachment { connection, outbound, state }),
            Err(error) => {
                services.bus.unwatch(user.id);
                services.hub.disconnect(user.id, connection);
                Err(AttachRefused::Error(error))
            }
        }
    }

    async fn command(&self, user: &Viewer, device_id: &str, request: Request) -> AppResult<u64> {
        let services = &self.0;
        let command = match command_for(request, &services.resolver, user).await? {
            // With autoplay on, the station of the track that ended goes along, for the session
            // to play should nothing be left.
            Command::TrackEnded { track_id, continuation: None } => {
                // Autoplay is an extra: when it cannot be looked up, the track still ends.
                let continuation =
                    services.recs.continuation(user.id, &user.country, track_id).await.unwrap_or_else(|error| {
                        tracing::warn!(%error, "autoplay not looked up; the track ends without it");
                        None
                    });
                Command::TrackEnded { track_id, continuation }
            }
            command => command,
        };
        Ok(services.sessions.execute(user.id, Some(device_id), command).await?.seq)
    }

    async fn playlist(&self, user: &Viewer, connection: u64, request: Request) -> AppResult<PlaylistAnswer> {
        let playlists = &self.0.playlists;
        match request {
            Request::PlaylistSubscribe(target) => {
                let playlist = playlist_id(&target.playlist_id)?;
                let read = playlists.subscribe(user.id, connection, playlist).await?;
                Ok(PlaylistAnswer::Playlist(read.view()))
            }
            Request::PlaylistUnsubscribe(target) => {
                // An id that names no playlist was never subscribed to: nothing to undo.
                if let Ok(playlist) = playlist_id(&target.playlist_id) {
                    self.0.topics.unsubscribe(user.id, connection, Topic::Playlist(playlist));
                }
                Ok(PlaylistAnswer::Done)
            }
            Request::PlaylistEdit(edit) => {
                let (playlist, edit) = playlist_edit_for(edit)?;
                let snapshot_id = playlists.edit(user.id, playlist, edit).await?;
                Ok(PlaylistAnswer::Snapshot(SnapshotReply { snapshot_id }))
            }
            other => Err(AppError::bad_request(format!("`{}` is not a playlist request", other.type_name()))),
        }
    }

    async fn activity_subscribe(&self, user: &Viewer, connection: u64) -> AppResult<Friends> {
        let services = &self.0;
        let friends = services.store.friends_activity(user.id, MAX_FRIENDS).await?;
        let ids: Vec<Id> = friends.iter().map(|friend| friend.user).collect();
        services.activity.subscribe(user.id, connection, &ids).await?;
        Ok(Friends { friends: friends.iter().map(friend_activity).collect() })
    }

    async fn detach(&self, user: Id, device_id: String, connection: u64) {
        let services = &self.0;
        services.hub.disconnect(user, connection);
        services.topics.unsubscribe_connection(user, connection);
        services.activity.connection_closed(user, connection);
        services.bus.unwatch(user);
        if let Err(error) = services.sessions.detach(user, device_id.clone(), connection).await {
            // Left online, the device could be chosen to play while nobody hears it: try again
            // in the background (a detach of a connection the session no longer has is a no-op).
            tracing::warn!(%error, "could not mark a device offline; retrying");
            actix_rt::spawn(retry_detach(services.clone(), user, device_id, connection));
        }
    }
}

/// Retries a failed detach a few times, a second apart, for as long as the failure is one that
/// passes (the session unavailable for a moment: its node busy, a takeover, a Redis reconnect).
/// There is at most one of these per connection that ended, and each ends within ten seconds.
async fn retry_detach(services: Arc<Services>, user: Id, device_id: String, connection: u64) {
    const ATTEMPTS: u32 = 10;
    for _ in 0..ATTEMPTS {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match services.sessions.detach(user, device_id.clone(), connection).await {
            Ok(()) => return,
            Err(error) if error.code == ErrorCode::Unavailable => continue,
            Err(error) => {
                tracing::warn!(%user, %error, "could not mark a device offline");
                return;
            }
        }
    }
    tracing::warn!(%user, "gave up marking a device offline");
}
