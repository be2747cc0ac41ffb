//! The cluster engine on Redis (through `fred`): this process's registration and liveness, the
//! ownership record of every session (which process holds it, under which fencing epoch), the
//! session snapshots, and pub/sub (one channel per user for events, one inbox per process for
//! calls between nodes). This module is a typed layer over Redis commands and Lua scripts; what
//! the records mean for placement and supervision is decided in `actors::cluster`.
//!
//! **Keys.** Everything of one user shares the hash tag `{u:<id>}`, so on Redis Cluster a user's
//! keys and channel live in one slot and every script below touches a single slot:
//!
//! | key | type | what |
//! |---|---|---|
//! | `segue:{u:ID}:owner` | hash `instance`, `epoch` | the process holding the session, and its epoch |
//! | `segue:{u:ID}:epoch` | integer | the last epoch handed out; grows on every takeover |
//! | `segue:{u:ID}:snap` | hash `epoch`, `seq`, `state` | the newest acknowledged session state |
//! | `segue:{u:ID}:events` | channel | the user's events, for every node holding one of the user's devices |
//! | `segue:{p:ID}:owner` | hash `instance`, `epoch` | the process running the playlist's actor, and its epoch |
//! | `segue:{p:ID}:epoch` | integer | the last epoch handed out for the playlist |
//! | `segue:{p:ID}:topic` | channel | a playlist's topic: its changes, for every node with a subscriber of it |
//! | `segue:{a:ID}:topic` | channel | a user's activity topic, for every node with a follower of the user subscribed |
//! | `segue:alive:INSTANCE` | string with a TTL | the process is alive while this exists |
//! | `segue:rpc:INSTANCE` | channel | calls to that process and replies from others |
//! | `segue:instances` | integer | numbers process starts: each start's instance id |
//!
//! **Liveness is per process, not per session.** A process renews one key (`SET … PX`) well
//! inside its expiry; a session's ownership record names the process instance, and is valid
//! while that instance's key exists. Renewing one key per process instead of one per session
//! keeps Redis's work independent of the number of sessions. An instance id is a number drawn per
//! start, so a restarted process never inherits the sessions of its previous life; it is also the
//! high half of every connection id the process hands out, so whether a connection's process is
//! alive can be asked of any connection id.
//!
//! **Released is not lost.** Giving a session up leaves the ownership record with an empty
//! instance (a tombstone): a late write of the old owner is still refused. A record that is
//! missing altogether means Redis lost its data; then the holder's next write takes it back,
//! unless a newer epoch was handed out meanwhile.

use std::time::Duration;

use bytes::Bytes;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::scripts::Script;

use crate::ids::Id;

/// A Redis failure, as the rest of the server sees it: Redis is unreachable or refused.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisError(String);

impl From<fred::error::Error> for RedisError {
    fn from(error: fred::error::Error) -> RedisError {
        RedisError(error.to_string())
    }
}

pub type RedisResult<T> = Result<T, RedisError>;

impl crate::error::ProtocolError for RedisError {
    fn code(&self) -> segue_protocol::ErrorCode {
        segue_protocol::ErrorCode::Unavailable
    }

    fn client_message(&self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("the cluster's Redis is unreachable; retry soon")
    }
}

crate::app_error_from!(RedisError);

/// Who holds a session, as `acquire` finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// This process holds it, under this epoch (it just took it, or already had it).
    Mine { epoch: i64 },
    /// Another process instance holds it.
    Elsewhere { instance: String },
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Written and published.
    Written,
    /// A newer state of this same owner was written first; it carries this change too.
    Superseded,
    /// The session belongs to another owner (or epoch) now: nothing was written.
    Fenced,
}

/// A snapshot as Redis holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSnapshot {
    pub epoch: i64,
    pub seq: u64,
    pub state: Vec<u8>,
}

/// Takes the ownership of a session (or a playlist) when nobody holds it, or when the holder is
/// the instance the caller found dead (ARGV[2]); answers who holds it otherwise. A new epoch is
/// never below the epoch of the stored snapshot (KEYS[3]) nor the floor the caller read from the
/// store (ARGV[3]), so even a lost counter cannot hand out a stale epoch.
const ACQUIRE: &str = r"
local o = redis.call('HMGET', KEYS[1], 'instance', 'epoch')
if o[1] and o[1] ~= '' then
  if o[1] == ARGV[1] then return {'mine', o[2]} end
  if o[1] ~= ARGV[2] then return {'elsewhere', o[1]} end
end
local epoch = redis.call('INCR', KEYS[2])
local snap = tonumber(redis.call('HGET', KEYS[3], 'epoch') or '0')
local floor = tonumber(ARGV[3] or '0') or 0
if floor > snap then snap = floor end
if epoch <= snap then
  epoch = snap + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('HSET', KEYS[1], 'instance', ARGV[1], 'epoch', epoch)
return {'mine', tostring(epoch)}
";

/// Gives a session up, if this instance and epoch still hold it: the record stays, with no
/// instance, so that a late write of this owner is still refused.
const RELEASE: &str = r"
local o = redis.call('HMGET', KEYS[1], 'instance', 'epoch')
if o[1] == ARGV[1] and o[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'instance', '')
  return 1
end
return 0
";

/// Deletes a lock (KEYS[1]) only if it still holds this holder's token (ARGV[1]).
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Writes a session's new state and publishes its event, in one step: a device never sees a
/// state that is not stored. Refused (-1) unless this instance and epoch hold the session; an
/// ownership record lost with Redis's data is taken back when no newer epoch was handed out.
/// A state older than the stored one is skipped (0): the newer one already carries it.
const COMMIT: &str = r"
local o = redis.call('HMGET', KEYS[1], 'instance', 'epoch')
if not o[1] then
  local handed = tonumber(redis.call('GET', KEYS[3]) or '0')
  if handed > tonumber(ARGV[2]) then return -1 end
  redis.call('SET', KEYS[3], ARGV[2])
  redis.call('HSET', KEYS[1], 'instance', ARGV[1], 'epoch', ARGV[2])
elseif o[1] ~= ARGV[1] or o[2] ~= ARGV[2] then
  return -1
end
local seq = tonumber(redis.call('HGET', KEYS[2], 'seq') or '-1')
if seq >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], 'epoch', ARGV[2], 'seq', ARGV[3], 'state', ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
";

fn owner_key(user: Id) -> String {
    format!("segue:{{u:{user}}}:owner")
}
fn epoch_key(user: Id) -> String {
    format!("segue:{{u:{user}}}:epoch")
}
fn snapshot_key(user: Id) -> String {
    format!("segue:{{u:{user}}}:snap")
}
fn playlist_owner_key(playlist: Id) -> String {
    format!("segue:{{p:{playlist}}}:owner")
}
fn playlist_epoch_key(playlist: Id) -> String {
    format!("segue:{{p:{playlist}}}:epoch")
}
/// Never written: a playlist's epochs are floored by the store's `owner_epoch` instead.
fn playlist_snapshot_key(playlist: Id) -> String {
    format!("segue:{{p:{playlist}}}:snap")
}
fn alive_key(instance: &str) -> String {
    format!("segue:alive:{instance}")
}

/// The channel of a user's events.
pub fn user_channel(user: Id) -> String {
    format!("segue:{{u:{user}}}:events")
}

/// The user whose events channel this is.
pub fn user_of_channel(channel: &str) -> Option<Id> {
    Id::parse(channel.strip_prefix("segue:{u:")?.strip_suffix("}:events")?)
}

/// The channel of a playlist's topic.
pub fn playlist_channel(playlist: Id) -> String {
    format!("segue:{{p:{playlist}}}:topic")
}

/// The channel of a user's activity topic.
pub fn activity_channel(user: Id) -> String {
    format!("segue:{{a:{user}}}:topic")
}

/// The playlist whose topic channel this is.
pub fn playlist_of_channel(channel: &str) -> Option<Id> {
    Id::parse(channel.strip_prefix("segue:{p:")?.strip_suffix("}:topic")?)
}

/// The user whose activity topic channel this is.
pub fn activity_of_channel(channel: &str) -> Option<Id> {
    Id::parse(channel.strip_prefix("segue:{a:")?.strip_suffix("}:topic")?)
}

/// The inbox channel of a process instance.
pub fn rpc_channel(instance: &str) -> String {
    format!("segue:rpc:{instance}")
}

/// A message received on a subscribed channel.
pub struct Received {
    pub channel: String,
    pub payload: Bytes,
}

/// What the subscriber connection reports.
pub enum SubscriberEvent {
    Message(Received),
    /// Messages were lost (the reader fell behind): whoever depends on them must resync.
    Lagged,
    /// The connection came back and every channel is subscribed again: resync.
    Reconnected,
}

/// The connections to Redis of one process: one for commands and scripts, one subscriber.
pub struct RedisEngine {
    client: Client,
    subscriber: SubscriberClient,
    /// This process start's number, from `segue:instances`; its decimal form is the instance id.
    number: u64,
    instance: String,
    /// How long the liveness key lives without renewal.
    lease: Duration,
    acquire: Script,
    release: Script,
    commit: Script,
    unlock: Script,
}

impl RedisEngine {
    /// Connects to `url`. Commands fail after `command_timeout` rather than wait for a Redis that
    /// is gone; both connections reconnect by themselves, forever, every 200 ms.
    pub async fn connect(url: &str, lease: Duration, command_timeout: Duration) -> RedisResult<RedisEngine> {
        let config = Config::from_url(url)?;
        let mut builder = Builder::from_config(config);
        builder
            .with_performance_config(|performance| {
                performance.default_command_timeout = command_timeout;
                // The subscriber's messages wait here for the dispatcher; past it they are lost
                // and the dispatcher resyncs (`SubscriberEvent::Lagged`).
                performance.broadcast_channel_capacity = 1 << 16;
            })
            .with_connection_config(|connection| {
                connection.connection_timeout = command_timeout;
                connection.internal_command_timeout = command_timeout;
                connection.max_command_attempts = 1;
            })
            .set_policy(ReconnectPolicy::new_constant(0, 200));
        let client = builder.build()?;
        let subscriber = builder.build_subscriber_client()?;
        client.init().await?;
        subscriber.init().await?;
        let number: u64 = client.incr("segue:instances").await?;
        let engine = RedisEngine {
            client,
            subscriber,
            number,
            instance: number.to_string(),
            lease,
            acquire: Script::from_lua(ACQUIRE),
            release: Script::from_lua(RELEASE),
            commit: Script::from_lua(COMMIT),
            unlock: Script::from_lua(UNLOCK),
        };
        for script in [&engine.acquire, &engine.release, &engine.commit, &engine.unlock] {
            script.load(&engine.client).await?;
        }
        engine.renew().await?;
        Ok(engine)
    }

    /// This process's instance id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether the command connection is up now (requests fail fast when it is not).
    pub fn is_connected(&self) -> bool {
        self.client.is_connected()
    }

    /// This process start's number: no other start got it. Connection ids carry it in their high half.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The process instance that handed out a connection id.
    pub fn instance_of_connection(connection: u64) -> String {
        (connection >> 32).to_string()
    }

    /// Renews (or re-creates, after Redis lost it) this process's liveness key.
    pub async fn renew(&self) -> RedisResult<()> {
        let lease = Expiration::PX(self.lease.as_millis() as i64);
        let _: () = self.client.set(alive_key(&self.instance), 1, Some(lease), None, false).await?;
        Ok(())
    }

    /// Deletes this process's liveness key: every session it still holds may be taken at once.
    pub async fn retire_instance(&self) -> RedisResult<()> {
        let _: () = self.client.del(alive_key(&self.instance)).await?;
        Ok(())
    }

    /// Whether a process instance is alive.
    pub async fn is_alive(&self, instance: &str) -> RedisResult<bool> {
        Ok(self.client.exists::<u32, _>(alive_key(instance)).await? > 0)
    }

    /// Takes `user`'s session if nobody holds it (or `dead` held it), else says who does.
    pub async fn acquire(&self, user: Id, dead: Option<&str>) -> RedisResult<Ownership> {
        self.acquire_keys(vec![owner_key(user), epoch_key(user), snapshot_key(user)], dead, 0).await
    }

    /// Gives `user`'s session up if this process still holds it under `epoch`.
    pub async fn release(&self, user: Id, epoch: i64) -> RedisResult<bool> {
        self.release_key(owner_key(user), epoch).await
    }

    /// Takes the ownership of `playlist`'s actor if nobody holds it (or `dead` held it), under an
    /// epoch above `floor` (the epoch the store last saw it claimed under); else says who does.
    pub async fn acquire_playlist(&self, playlist: Id, dead: Option<&str>, floor: i64) -> RedisResult<Ownership> {
        let keys = vec![playlist_owner_key(playlist), playlist_epoch_key(playlist), playlist_snapshot_key(playlist)];
        self.acquire_keys(keys, dead, floor).await
    }

    /// Gives `playlist`'s actor up if this process still holds it under `epoch`.
    pub async fn release_playlist(&self, playlist: Id, epoch: i64) -> RedisResult<bool> {
        self.release_key(playlist_owner_key(playlist), epoch).await
    }

    async fn acquire_keys(&self, keys: Vec<String>, dead: Option<&str>, floor: i64) -> RedisResult<Ownership> {
        let args = vec![self.instance.clone(), dead.unwrap_or("").to_string(), floor.to_string()];
        let (verdict, value): (String, String) = self.acquire.evalsha_with_reload(&self.client, keys, args).await?;
        match verdict.as_str() {
            "mine" => value
                .parse()
                .map(|epoch| Ownership::Mine { epoch })
                .map_err(|_| RedisError(format!("epoch {value:?} is not a number"))),
            _ => Ok(Ownership::Elsewhere { instance: value }),
        }
    }

    async fn release_key(&self, owner: String, epoch: i64) -> RedisResult<bool> {
        let args = vec![self.instance.clone(), epoch.to_string()];
        let released: i64 = self.release.evalsha_with_reload(&self.client, vec![owner], args).await?;
        Ok(released == 1)
    }

    /// Stores `user`'s new state and publishes `message` on the user's channel, if this process
    /// holds the session under `epoch`.
    pub async fn commit(
        &self,
        user: Id,
        epoch: i64,
        seq: u64,
        state: Vec<u8>,
        message: Bytes,
    ) -> RedisResult<Committed> {
        let keys = vec![owner_key(user), snapshot_key(user), epoch_key(user)];
        let args: Vec<Value> = vec![
            self.instance.clone().into(),
            epoch.to_string().into(),
            seq.to_string().into(),
            Value::Bytes(state.into()),
            user_channel(user).into(),
            Value::Bytes(message),
        ];
        let outcome: i64 = self.commit.evalsha_with_reload(&self.client, keys, args).await?;
        Ok(match outcome {
            1 => Committed::Written,
            0 => Committed::Superseded,
            _ => Committed::Fenced,
        })
    }

    /// The newest stored snapshot of `user`.
    pub async fn load_snapshot(&self, user: Id) -> RedisResult<Option<RedisSnapshot>> {
        let (epoch, seq, state): (Option<i64>, Option<u64>, Option<Bytes>) =
            self.client.hmget(snapshot_key(user), vec!["epoch", "seq", "state"]).await?;
        Ok(match (epoch, seq, state) {
            (Some(epoch), Some(seq), Some(state)) => Some(RedisSnapshot { epoch, seq, state: state.to_vec() }),
            _ => None,
        })
    }

    /// Publishes on a channel (fire and forget for the caller's purposes: an error is returned,
    /// delivery is not confirmed).
    pub async fn publish(&self, channel: String, payload: Bytes) -> RedisResult<()> {
        let _: i64 = self.client.publish(channel, payload).await?;
        Ok(())
    }

    /// Subscribes the subscriber connection to these channels (resubscribed after reconnects).
    pub async fn subscribe(&self, channels: Vec<String>) -> RedisResult<()> {
        if channels.is_empty() {
            return Ok(());
        }
        self.subscriber.subscribe(channels).await?;
        Ok(())
    }

    pub async fn unsubscribe(&self, channels: Vec<String>) -> RedisResult<()> {
        if channels.is_empty() {
            return Ok(());
        }
        self.subscriber.unsubscribe(channels).await?;
        Ok(())
    }

    /// How many Redis connections are subscribed to `channel` (`PUBSUB NUMSUB`): one per node
    /// that needs it, whatever the number of its local interests.
    pub async fn channel_subscribers(&self, channel: String) -> RedisResult<u64> {
        let reply: Vec<Value> = self.client.pubsub_numsub(channel).await?;
        Ok(reply.get(1).and_then(Value::as_u64).unwrap_or(0))
    }

    /// Runs until the subscriber client is dropped, calling `on_event` with every message, and
    /// with `Lagged` or `Reconnected` when the reader must resync.
    pub async fn listen(&self, mut on_event: impl FnMut(SubscriberEvent)) {
        use tokio::sync::broadcast::error::RecvError;
        let mut messages = self.subscriber.message_rx();
        let mut reconnects = self.subscriber.reconnect_rx();
        loop {
            tokio::select! {
                message = messages.recv() => match message {
                    Ok(message) => {
                        let payload = match message.value {
                            Value::Bytes(bytes) => bytes,
                            Value::String(text) => text.into_inner(),
                            _ => continue,
                        };
                        on_event(SubscriberEvent::Message(Received { channel: message.channel.to_string(), payload }));
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the Redis subscriber fell behind; resyncing");
                        on_event(SubscriberEvent::Lagged);
                    }
                    Err(RecvError::Closed) => return,
                },
                reconnect = reconnects.recv() => match reconnect {
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        if let Err(error) = self.subscriber.resubscribe_all().await {
                            tracing::warn!(%error, "resubscribing after a Redis reconnect failed");
                        }
                        on_event(SubscriberEvent::Reconnected);
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }

    /// Takes the lock `key` for `ttl` if nobody holds it (`SET key token NX PX ttl`): answers
    /// whether this caller got it. The lock lapses by itself after `ttl`, so a holder that dies
    /// never keeps it.
    pub async fn try_lock(&self, key: &str, token: &str, ttl: Duration) -> RedisResult<bool> {
        let expiry = Expiration::PX(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1));
        let reply: Option<String> = self.client.set(key, token, Some(expiry), Some(SetOptions::NX), false).await?;
        Ok(reply.is_some())
    }

    /// Releases the lock `key` if `token` still holds it (compare and delete, one script), so a
    /// holder whose lock lapsed never deletes its successor's. Answers whether it was released.
    pub async fn unlock(&self, key: &str, token: &str) -> RedisResult<bool> {
        let released: i64 =
            self.unlock.evalsha_with_reload(&self.client, vec![key.to_string()], vec![token.to_string()]).await?;
        Ok(released == 1)
    }

    /// Closes both connections.
    pub async fn quit(&self) {
        let _ = self.subscriber.quit().await;
        let _ = self.client.quit().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_channel_names_its_user_and_nothing_else_parses() {
        let user = Id::from_u128(42);
        assert_eq!(user_of_channel(&user_channel(user)), Some(user));
        assert_eq!(user_of_channel(&rpc_channel("abc")), None);
        assert_eq!(user_of_channel("segue:{u:nope}:events"), None);
        assert_eq!(playlist_of_channel(&playlist_channel(user)), Some(user));
        assert_eq!(activity_of_channel(&activity_channel(user)), Some(user));
        assert_eq!(activity_of_channel(&playlist_channel(user)), None);
        assert_eq!(user_of_channel(&activity_channel(user)), None);
    }
}
