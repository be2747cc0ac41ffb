// The web player's entry point: sign-in, the device identity (kept in localStorage), the
// Connect socket and the audio player, the hash router (#search/…, #album/ID, #playlist/ID, …),
// the player bar, the Devices list, live playlists and the friend panel.

import * as api from './api.js';
import { Connection } from './connect.js';
import { Player, positionNow } from './player.js';
import * as views from './views.js';

const $ = (id) => document.getElementById(id);
const SEARCH_DEBOUNCE_MS = 250;
/** The access token is renewed (REST refresh, then `auth` on the socket) this long before it expires. */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60 * 1000;

/** This browser's device: an id made once and kept, and a name shown to the other devices. */
function deviceIdentity() {
  let id = localStorage.getItem('segue.deviceId');
  if (!id || !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
    const random = new Uint8Array(8);
    crypto.getRandomValues(random);
    id = `web-${[...random].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem('segue.deviceId', id);
  }
  let name = localStorage.getItem('segue.deviceName');
  if (!name) {
    name = `Segue Web ${id.slice(-4)}`;
    localStorage.setItem('segue.deviceName', name);
  }
  return { id, name };
}

const device = deviceIdentity();
let connection = null;
let player = null;
let state = null;
let me = null;
const trackCache = new Map();
const friendsById = new Map();
/** The playlist the view shows, subscribed over the socket: {id, draw, live}. */
let openPlaylist = null;
let routeGeneration = 0;
let seeking = false;

// ---- What views may use -------------------------------------------------------------------

const ctx = {
  get me() {
    return me;
  },
  playlists: [],
  liked: new Set(),
  state: () => state,
  currentTrackId: () => state?.playback?.track_id,
  send,
  notify,
  play: (body) => send('play', body),
  /** A click in the queue's "Next up": play from that track on, the ones after it as the new queue (the context is left). */
  skipTo: (index) => {
    const next = state?.queue?.next || [];
    if (next.length) send('play', { uris: next.slice(index) });
  },
  lookupTracks,
  toggleLike,
  addToQueue: async (track) => {
    if (await send('queue_add', { uri: track.uri })) notify(`${track.name} is next in the queue`);
  },
  addToPlaylist: async (playlistId, trackId) => {
    const done = await ctx.editPlaylist(playlistId, [{ op: 'add', track_ids: [trackId] }]);
    if (done) notify(`Added to ${ctx.playlists.find((p) => p.id === playlistId)?.name || 'playlist'}`);
  },
  editPlaylist: (playlistId, ops) =>
    connection.request('playlist_edit', { playlist_id: playlistId, ops }).catch((error) => {
      notify(error.message);
      return null;
    }),
  openPlaylist: async (id, draw) => {
    if (openPlaylist && openPlaylist.id !== id) closePlaylist();
    openPlaylist = { id, draw, live: null };
    await subscribePlaylist();
  },
};

/** Sends a command over the socket; a refusal becomes a notice. */
function send(type, body = {}) {
  return connection.request(type, body).catch((error) => {
    notify(error.code === 'SKIP_LIMIT' ? `No skips left: ${error.message}` : error.message);
    return null;
  });
}

let noticeTimer = null;
function notify(message) {
  let toast = $('toast');
  if (!toast) {
    toast = views.h('div', { id: 'toast', class: 'toast', role: 'status' });
    document.body.append(toast);
  }
  toast.textContent = message;
  toast.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    toast.hidden = true;
  }, 4000);
}

/** Track objects by id, fetched 50 at a time and cached. */
async function lookupTracks(ids) {
  const missing = [...new Set(ids.filter((id) => id && !trackCache.has(id)))];
  for (let i = 0; i < missing.length; i += 50) {
    const page = await api.tracks(missing.slice(i, i + 50));
    for (const track of page.tracks || []) if (track) trackCache.set(track.id, track);
  }
  return new Map(ids.filter((id) => trackCache.has(id)).map((id) => [id, trackCache.get(id)]));
}

async function toggleLike(trackId) {
  const liked = ctx.liked.has(trackId);
  try {
    await (liked ? api.unlike([trackId]) : api.like([trackId]));
  } catch (error) {
    notify(error.message);
    return;
  }
  if (liked) ctx.liked.delete(trackId);
  else ctx.liked.add(trackId);
  showLikes(document);
  if (location.hash === '#liked') route();
}

/** Asks which of the shown tracks are liked, then marks their ♥ buttons. */
async function refreshLikes(root) {
  const ids = [...new Set([...root.querySelectorAll('[data-track-id]')].map((row) => row.dataset.trackId))];
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const answers = await api.likedContains(chunk).catch(() => null);
    if (!answers) return;
    chunk.forEach((id, j) => (answers[j] ? ctx.liked.add(id) : ctx.liked.delete(id)));
  }
  showLikes(root);
}

function showLikes(root) {
  for (const row of root.querySelectorAll('[data-track-id]')) {
    const button = row.querySelector('[aria-label="Like"]');
    if (button) button.setAttribute('aria-pressed', String(ctx.liked.has(row.dataset.trackId)));
  }
  const current = state?.playback?.track_id;
  $('now-like').setAttribute('aria-pressed', String(Boolean(current && ctx.liked.has(current))));
}

// ---- Playlists ----------------------------------------------------------------------------

async function loadPlaylists() {
  const page = await api.myPlaylists().catch(() => ({ items: [] }));
  ctx.playlists = page.items || [];
  $('playlists').replaceChildren(
    ...ctx.playlists.map((p) => views.h('li', {}, views.h('a', { href: `#playlist/${p.id}` }, p.name))),
  );
}

async function subscribePlaylist() {
  const open = openPlaylist;
  if (!open || !connection.online) return;
  try {
    const live = await connection.request('playlist_subscribe', { playlist_id: open.id });
    if (openPlaylist !== open) return;
    open.live = live;
    await open.draw(live);
  } catch (error) {
    notify(`Playlist: ${error.message}`);
  }
}

function closePlaylist() {
  if (openPlaylist && connection.online) {
    connection.request('playlist_unsubscribe', { playlist_id: openPlaylist.id }).catch(() => {});
  }
  openPlaylist = null;
}

function playlistChanged(change) {
  const open = openPlaylist;
  if (change.ops?.some((op) => op.op === 'rename')) loadPlaylists();
  if (!open || open.id !== change.playlist_id || !open.live) return;
  if (change.prev_snapshot_id !== open.live.snapshot_id) {
    // Missed an edit: take the whole playlist again.
    subscribePlaylist();
    return;
  }
  views.applyPlaylistOps(open.live, change.ops || []);
  open.live.snapshot_id = change.snapshot_id;
  open.draw(open.live).then(() => refreshLikes($('view')));
}

// ---- Friends ------------------------------------------------------------------------------

async function subscribeActivity() {
  try {
    const answer = await connection.request('activity_subscribe', {});
    friendsById.clear();
    for (const friend of answer.friends || []) friendsById.set(friend.user_id, friend);
    await drawFriends();
  } catch (error) {
    console.warn('activity_subscribe', error);
  }
}

async function drawFriends() {
  const tracks = await lookupTracks([...friendsById.values()].map((f) => f.track_id).filter(Boolean)).catch(() => new Map());
  views.friends($('friends'), friendsById, tracks);
}

// ---- The player bar -----------------------------------------------------------------------

async function drawPlayerBar() {
  const playback = state?.playback;
  const active = state?.devices?.find((d) => d.device_id === state.active_device_id);
  $('shuffle').setAttribute('aria-pressed', String(Boolean(playback?.shuffle)));
  const repeat = playback?.repeat || 'off';
  $('repeat').dataset.mode = repeat;
  $('repeat').setAttribute('aria-pressed', String(repeat !== 'off'));
  $('repeat').title = `Repeat: ${repeat}`;
  $('play').classList.toggle('current', !playback?.is_playing);
  $('pause').classList.toggle('current', Boolean(playback?.is_playing));
  $('where').textContent = active && active.device_id !== device.id ? `Playing on ${active.name}` : '';
  const skips = state?.skips;
  $('skips').hidden = !skips;
  if (skips) $('skips').textContent = `Skips left: ${Math.max(0, skips.limit - skips.used)} of ${skips.limit}`;
  const volumeOf = active || state?.devices?.find((d) => d.device_id === device.id);
  if (volumeOf && typeof volumeOf.volume_percent === 'number' && document.activeElement !== $('volume')) {
    $('volume').value = volumeOf.volume_percent;
  }
  views.devices($('device-items'), state, device.id, (deviceId) => {
    $('devices-list').hidden = true;
    $('devices').setAttribute('aria-expanded', 'false');
    send('transfer', { device_id: deviceId });
  });
  tick();
  if (!playback) {
    $('now-title').textContent = 'Nothing playing';
    $('now-title').href = '#home';
    $('now-artist').textContent = '';
    $('now-art').replaceWith(Object.assign(views.art('', ''), { id: 'now-art', className: 'art small' }));
    $('now-like').hidden = true;
    document.title = 'Segue';
    return;
  }
  const tracks = await lookupTracks([playback.track_id]).catch(() => new Map());
  const track = tracks.get(playback.track_id);
  if (!track || state?.playback?.track_id !== track.id) return;
  $('now-title').textContent = track.name;
  $('now-title').href = `#track/${track.id}`;
  $('now-artist').textContent = (track.artists || []).map((a) => a.name).join(', ');
  const artwork = views.art(track.album?.id || track.id, track.album?.name || track.name, 'small');
  artwork.id = 'now-art';
  $('now-art').replaceWith(artwork);
  $('now-like').hidden = false;
  $('now-like').setAttribute('aria-pressed', String(ctx.liked.has(track.id)));
  document.title = `${playback.is_playing ? '▶ ' : ''}${track.name} · Segue`;
  for (const row of document.querySelectorAll('.track-row')) row.classList.toggle('current', row.dataset.trackId === track.id);
}

/** The seek bar and times, from the state's clock (so they move for any active device). */
function tick() {
  const playback = state?.playback;
  const duration = playback?.duration_ms || 0;
  const position = playback ? positionNow(playback, connection.serverNow()) : 0;
  $('duration').textContent = views.formatTime(duration);
  if (!seeking) {
    $('seek').max = String(Math.max(1, duration));
    $('seek').value = String(position);
    $('elapsed').textContent = views.formatTime(position);
  }
}

let queueRedraw = null;
function stateChanged(next) {
  const trackChanged = state?.playback?.track_id !== next?.playback?.track_id;
  state = next;
  player.follow(next);
  drawPlayerBar();
  if (location.hash === '#queue' && !queueRedraw) {
    queueRedraw = setTimeout(() => {
      queueRedraw = null;
      route();
    }, 200);
  }
  if (trackChanged) showLikes(document);
}

let countdown = null;
function showStatus(status) {
  const banner = $('banner');
  if (status.online) {
    clearInterval(countdown);
    banner.hidden = true;
    return;
  }
  if (status.signedOut) {
    api.signOut();
    location.reload();
    return;
  }
  clearInterval(countdown);
  const retry = views.h('button', { type: 'button', onclick: () => connection.retryNow() }, status.replaced ? 'Use this tab' : 'Retry now');
  const text = views.h('span', {});
  banner.replaceChildren(text, retry);
  banner.hidden = false;
  if (status.replaced) {
    text.textContent = status.reason;
    return;
  }
  // The countdown is for the eyes: a live region that changed every second would be read out each time.
  const retryAt = Date.now() + status.retryInMs;
  const remaining = views.h('span', { 'aria-hidden': 'true' });
  text.replaceChildren('Connection lost. Reconnecting', remaining);
  const show = () => {
    const seconds = Math.ceil((retryAt - Date.now()) / 1000);
    remaining.textContent = seconds > 0 ? ` in ${seconds} s…` : '…';
  };
  show();
  countdown = setInterval(show, 500);
}

// ---- Routing ------------------------------------------------------------------------------

async function route() {
  const generation = ++routeGeneration;
  const hash = decodeURIComponent(location.hash.slice(1)) || 'home';
  const [kind, ...rest] = hash.split('/');
  const arg = rest.join('/');
  if (openPlaylist && !(kind === 'playlist' && arg === openPlaylist.id)) closePlaylist();
  const render = {
    home: () => views.home(ctx),
    search: () => views.search(ctx, arg),
    track: () => views.track(ctx, arg),
    album: () => views.album(ctx, arg),
    artist: () => views.artist(ctx, arg),
    playlist: () => views.playlist(ctx, arg),
    liked: () => views.liked(ctx),
    queue: () => views.queue(ctx),
  }[kind] || (() => views.home(ctx));
  let content;
  try {
    content = await render();
  } catch (error) {
    content = views.h('p', { class: 'empty' }, `Could not load this page: ${error.message}`);
  }
  if (generation !== routeGeneration) return;
  const sameView = $('view').dataset.route === hash;
  $('view').replaceChildren(content);
  $('view').dataset.route = hash;
  // A new page starts at its top; the same one redrawn (the queue after a state) keeps its place.
  if (!sameView) $('view').scrollTop = 0;
  if (kind !== 'search' && document.activeElement !== $('search')) $('search').value = '';
  refreshLikes($('view'));
}

let searchTimer = null;
function searchTyped() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    const query = $('search').value;
    const target = query.trim() ? `#search/${encodeURIComponent(query)}` : '#home';
    if (location.hash.startsWith('#search/') || !query.trim()) history.replaceState(null, '', target);
    else history.pushState(null, '', target);
    route();
  }, SEARCH_DEBOUNCE_MS);
}

// ---- Start --------------------------------------------------------------------------------

function showLogin() {
  $('app').hidden = true;
  $('login').hidden = false;
  const form = $('login-form');
  const error = $('login-error');
  const attempt = async (how) => {
    error.textContent = '';
    if (!form.reportValidity()) return;
    try {
      await how($('username').value.trim(), $('password').value);
      await start();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    attempt(api.logIn);
  };
  $('register').onclick = () => attempt(api.register);
  $('username').focus();
}

async function start() {
  if (!api.tokens()) {
    showLogin();
    return;
  }
  try {
    me = await api.me();
  } catch (error) {
    if (error.status === 401) {
      api.signOut();
      showLogin();
    } else {
      $('banner').textContent = `The server is not answering (${error.message}); retrying…`;
      $('banner').hidden = false;
      setTimeout(start, 3000);
    }
    return;
  }
  $('banner').hidden = true;
  $('login').hidden = true;
  $('app').hidden = false;
  $('who').textContent = me.display_name || me.id;
  $('my-id').textContent = me.id;

  const volume = Number(localStorage.getItem('segue.volume') ?? 80);
  connection = new Connection(
    { device_id: device.id, name: device.name, device_type: 'computer', can_play: true, supports_volume: true, volume_percent: volume },
    () => api.tokens()?.access_token || '',
    async () => {
      await api.refreshTokens();
      return Boolean(api.tokens());
    },
  );
  player = new Player($('audio'), connection, device.id);
  player.addEventListener('error', (event) => notify(event.detail.message));
  player.addEventListener('blocked', (event) => {
    if (event.detail.blocked) notify('Click anywhere to let this tab play.');
  });
  document.addEventListener('click', () => player.unblock());
  connection.addEventListener('state', (event) => stateChanged(event.detail));
  connection.addEventListener('status', (event) => showStatus(event.detail));
  connection.addEventListener('welcome', () => {
    subscribeActivity();
    subscribePlaylist();
  });
  connection.addEventListener('playlist_changed', (event) => playlistChanged(event.detail));
  connection.addEventListener('friend_activity', (event) => {
    const friend = event.detail;
    friendsById.set(friend.user_id, { ...friendsById.get(friend.user_id), ...friend });
    drawFriends();
  });
  connection.start();
  wireControls();
  setInterval(tick, 250);
  setInterval(renewBeforeExpiry, 30000);
  await loadPlaylists();
  window.addEventListener('hashchange', route);
  route();
}

/** When the access token expires (its JWT `exp`), in ms since the epoch; 0 when unreadable. */
function accessTokenExpiry() {
  try {
    const payload = api.tokens().access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).exp * 1000;
  } catch {
    return 0;
  }
}

/**
 * Renews the token before it expires, so the socket is never closed for it (4003) and playback
 * on this tab never stops: new tokens over REST, then `auth` on the live connection.
 */
async function renewBeforeExpiry() {
  const expiry = accessTokenExpiry();
  if (!expiry || expiry - Date.now() > RENEW_BEFORE_EXPIRY_MS) return;
  const renewed = await api.refreshTokens();
  if (renewed && connection.online) {
    connection.request('auth', { access_token: renewed.access_token }).catch((error) => console.warn('auth', error));
  }
}

function wireControls() {
  $('play').onclick = () => send('play', {});
  $('pause').onclick = () => send('pause', {});
  $('next').onclick = () => send('next', {});
  $('previous').onclick = () => send('previous', {});
  $('shuffle').onclick = () => send('shuffle', { state: !state?.playback?.shuffle });
  const nextRepeat = { off: 'context', context: 'track', track: 'off' };
  $('repeat').onclick = () => send('repeat', { state: nextRepeat[state?.playback?.repeat || 'off'] });
  $('now-like').onclick = () => state?.playback && toggleLike(state.playback.track_id);
  $('seek').addEventListener('input', () => {
    seeking = true;
    $('elapsed').textContent = views.formatTime(Number($('seek').value));
  });
  $('seek').addEventListener('change', async () => {
    await send('seek', { position_ms: Math.round(Number($('seek').value)) });
    seeking = false;
  });
  $('volume').addEventListener('change', () => {
    const percent = Number($('volume').value);
    localStorage.setItem('segue.volume', String(percent));
    send('volume', { percent, device_id: state?.active_device_id || device.id });
  });
  $('devices').onclick = () => {
    const list = $('devices-list');
    list.hidden = !list.hidden;
    $('devices').setAttribute('aria-expanded', String(!list.hidden));
  };
  $('search').addEventListener('input', searchTyped);
  $('log-out').onclick = () => {
    connection.stop();
    api.signOut();
    location.hash = '';
    location.reload();
  };
  $('new-playlist').onsubmit = async (event) => {
    event.preventDefault();
    const name = $('new-playlist-name').value.trim();
    if (!name) return;
    try {
      const created = await api.createPlaylist(name, $('new-playlist-collaborative').checked);
      $('new-playlist-name').value = '';
      $('new-playlist-collaborative').checked = false;
      await loadPlaylists();
      location.hash = `#playlist/${created.id}`;
    } catch (error) {
      notify(error.message);
    }
  };
  $('follow-form').onsubmit = async (event) => {
    event.preventDefault();
    try {
      await api.follow($('follow-id').value.trim());
      $('follow-id').value = '';
      await subscribeActivity();
      notify('Following');
    } catch (error) {
      notify(error.message);
    }
  };
}

start();
