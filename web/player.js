// The tab as a playback device: an <audio> element that does what the session's `state`
// says and nothing else. When this device is active and playing, it plays `track_id` (through
// its signed stream URL) from the computed position; otherwise it is silent. It tells the
// session what only the device can know: that a track ended (`track_ended`) and, after a stall
// and every few seconds while playing, where it really is (`progress`).

import { streamUrl } from './api.js';

/** Seeking is worth it only past this much drift from the session's position. */
const DRIFT_MS = 1000;
/** How often the active device reports its position while playing. */
const PROGRESS_EVERY_MS = 10000;

/** Where playback is now by the state's clock: position_ms + (now − timestamp_ms), capped. */
export function positionNow(playback, serverNow) {
  if (!playback) return 0;
  if (!playback.is_playing) return playback.position_ms;
  const elapsed = Math.max(0, serverNow - playback.timestamp_ms);
  return Math.min(playback.duration_ms, playback.position_ms + elapsed);
}

export class Player extends EventTarget {
  /**
   * @param audio the <audio> element
   * @param connection the Connect socket (connect.js)
   * @param deviceId this tab's device id
   */
  constructor(audio, connection, deviceId) {
    super();
    this.audio = audio;
    this.connection = connection;
    this.deviceId = deviceId;
    this.state = null;
    /** The track whose URL the audio element holds. */
    this.loadedTrack = null;
    /** Bumped by every state: a slow stream-URL answer for an older state is dropped. */
    this.generation = 0;
    this.stalled = false;
    this.blocked = false;
    audio.addEventListener('ended', () => this.ended());
    audio.addEventListener('waiting', () => {
      if (this.shouldPlay()) {
        this.stalled = true;
        this.stalledAt = this.generation;
      }
    });
    audio.addEventListener('playing', () => this.playing());
    setInterval(() => this.reportProgress(), PROGRESS_EVERY_MS);
  }

  /** This device is the active one. */
  isActive() {
    return Boolean(this.state && this.state.active_device_id === this.deviceId);
  }

  shouldPlay() {
    return this.isActive() && Boolean(this.state.playback?.is_playing);
  }

  /** Follows one session state. */
  async follow(state) {
    this.state = state;
    const generation = ++this.generation;
    const me = state.devices.find((device) => device.device_id === this.deviceId);
    if (me && typeof me.volume_percent === 'number') this.audio.volume = me.volume_percent / 100;
    const playback = state.playback;
    if (!this.isActive() || !playback) {
      this.audio.pause();
      return;
    }
    let newTrack = false;
    if (playback.track_id !== this.loadedTrack) {
      let answer;
      try {
        answer = await streamUrl(playback.track_id);
      } catch (error) {
        this.dispatch('error', { message: `Cannot play this track: ${error.message}` });
        return;
      }
      if (generation !== this.generation) return;
      this.loadedTrack = playback.track_id;
      this.audio.src = answer.url;
      newTrack = true;
    }
    const target = positionNow(playback, this.connection.serverNow());
    if (newTrack || Math.abs(this.audio.currentTime * 1000 - target) > DRIFT_MS) {
      this.audio.currentTime = target / 1000;
    }
    if (playback.is_playing) this.play();
    else this.audio.pause();
  }

  play() {
    this.audio.play().then(
      () => this.setBlocked(false),
      (error) => {
        // The browser wants a gesture before sound: main.js asks for a click and calls unblock().
        if (error.name === 'NotAllowedError') this.setBlocked(true);
      },
    );
  }

  /** After a click, when the browser refused to play without one. */
  unblock() {
    if (this.blocked && this.shouldPlay()) this.play();
  }

  setBlocked(blocked) {
    if (this.blocked !== blocked) {
      this.blocked = blocked;
      this.dispatch('blocked', { blocked });
    }
  }

  /** Playing (again): after a stall tell the session where we are; else catch up with it. */
  playing() {
    if (!this.shouldPlay()) {
      this.audio.pause();
      return;
    }
    if (this.stalled) {
      this.stalled = false;
      // Tell the session where the stall left us, unless a newer state (another device's seek,
      // say) came meanwhile: then that state is where to be, and reporting would undo it.
      if (this.stalledAt === this.generation) {
        this.reportProgress();
        return;
      }
    }
    const target = positionNow(this.state.playback, this.connection.serverNow());
    if (Math.abs(this.audio.currentTime * 1000 - target) > DRIFT_MS) this.audio.currentTime = target / 1000;
  }

  reportProgress() {
    if (!this.shouldPlay() || this.loadedTrack !== this.state.playback.track_id || this.audio.paused) return;
    const body = {
      track_id: this.loadedTrack,
      position_ms: Math.round(this.audio.currentTime * 1000),
      is_playing: true,
    };
    this.connection.request('progress', body).catch(() => {});
  }

  ended() {
    if (!this.isActive() || !this.loadedTrack) return;
    this.connection.request('track_ended', { track_id: this.loadedTrack }).catch((error) => {
      this.dispatch('error', { message: error.message });
    });
  }

  dispatch(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
