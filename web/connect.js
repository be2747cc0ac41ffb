// The Connect socket (connect-protocol-v1.md): `GET /v1/connect?access_token=…`, one
// MessagePack map per binary frame, `hello` first, replies matched to requests by id, events
// dispatched by type. When the socket drops it reconnects by itself with exponential backoff
// (and says so with `status` events); `hello` carries `last_seq` so no state goes backwards.

import { decode, encode } from './msgpack.js';

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 15000;
const REQUEST_TIMEOUT_MS = 10000;

/** A refused request: the protocol's error code, message and retry_after_ms. */
export class SocketError extends Error {
  constructor(code, message, retryAfterMs) {
    super(message || code);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * One device's connection. Events (CustomEvent, `detail` the body): `welcome`, `state`,
 * `playlist_changed`, `friend_activity`, and `status` ({online, retryInMs, reason}).
 */
export class Connection extends EventTarget {
  /**
   * @param device the hello body: {device_id, name, device_type, can_play, supports_volume, volume_percent}
   * @param accessToken () => the current access token
   * @param renewToken async () => a fresh access token after a 4003 close, or null (signed out)
   */
  constructor(device, accessToken, renewToken) {
    super();
    this.device = device;
    this.accessToken = accessToken;
    this.renewToken = renewToken;
    this.socket = null;
    this.nextId = 1;
    this.pending = new Map();
    this.lastSeq = undefined;
    this.failures = 0;
    this.retryTimer = null;
    this.stopped = false;
    this.online = false;
    /** Server clock minus this clock, in ms (from `ping`). */
    this.clockOffsetMs = 0;
  }

  /** The server's wall clock now, in ms since the epoch. */
  serverNow() {
    return Date.now() + this.clockOffsetMs;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000, 'signed out');
  }

  open() {
    clearTimeout(this.retryTimer);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/v1/connect?access_token=${encodeURIComponent(this.accessToken())}`;
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => this.sayHello(socket);
    socket.onmessage = (message) => {
      if (socket === this.socket) this.receive(message.data);
    };
    socket.onclose = (close) => {
      if (socket === this.socket) this.closed(close.code, close.reason);
    };
  }

  async sayHello(socket) {
    try {
      const welcome = await this.request('hello', { ...this.device, last_seq: this.lastSeq });
      if (socket !== this.socket) return;
      this.failures = 0;
      this.online = true;
      this.lastSeq = welcome.seq;
      this.dispatch('status', { online: true });
      this.dispatch('welcome', welcome);
      this.dispatch('state', welcome.state);
      const sentAt = Date.now();
      const pong = await this.request('ping', {});
      const roundTrip = Date.now() - sentAt;
      this.clockOffsetMs = pong.server_time_ms - (sentAt + roundTrip / 2);
    } catch (error) {
      console.warn('hello failed', error);
    }
  }

  receive(data) {
    if (!(data instanceof ArrayBuffer)) return;
    let frame;
    try {
      frame = decode(data);
    } catch (error) {
      console.warn('undecodable frame', error);
      return;
    }
    if (frame.type === 'reply') {
      const waiting = this.pending.get(frame.id);
      if (!waiting) return;
      this.pending.delete(frame.id);
      clearTimeout(waiting.timer);
      if (frame.ok) waiting.resolve(frame.body || {});
      else waiting.reject(new SocketError(frame.error?.code, frame.error?.message, frame.error?.retry_after_ms));
      return;
    }
    if (frame.type === 'state' && frame.body) {
      if (this.lastSeq !== undefined && frame.body.seq < this.lastSeq) return;
      this.lastSeq = frame.body.seq;
    }
    this.dispatch(frame.type, frame.body);
  }

  /** Sends a request; resolves with the reply's body, rejects with a SocketError. */
  request(type, body = {}) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SocketError('UNAVAILABLE', 'not connected to the server'));
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SocketError('UNAVAILABLE', `no reply to ${type}`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      socket.send(encode({ type, id, body }));
    });
  }

  async closed(code, reason) {
    this.online = false;
    this.socket = null;
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(new SocketError('UNAVAILABLE', 'the connection closed'));
    }
    this.pending.clear();
    if (this.stopped) return;
    if (code === 4001) {
      // Another tab of this browser holds the same device id: do not fight over it.
      this.dispatch('status', { online: false, replaced: true, reason: 'This player is open in another tab.' });
      return;
    }
    if (code === 4003 && !(await this.renewToken())) {
      this.dispatch('status', { online: false, signedOut: true, reason });
      return;
    }
    const delay = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
    this.failures += 1;
    this.dispatch('status', { online: false, retryInMs: Math.round(delay), reason: reason || `closed (${code})` });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Reconnects now (a click on the banner). */
  retryNow() {
    if (!this.online && !this.stopped) this.open();
  }

  dispatch(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
