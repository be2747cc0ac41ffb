// What the page shows: small DOM helpers, artwork placeholders, track lists and the views
// (home, search, track, album, artist, playlist, liked songs, queue), the Devices list and the
// friend panel. Views get a `ctx` from main.js with the data they need and the actions they
// may take; they never talk to the server themselves except through it.

import * as api from './api.js';

/** Builds an element: h('a', {href, class: 'x', onclick}, child, 'text', ...). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else if (key === 'class') element.className = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(key, '');
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function hash(text) {
  let value = 2166136261;
  for (let i = 0; i < text.length; i++) {
    value ^= text.charCodeAt(i);
    value = Math.imul(value, 16777619);
  }
  return value >>> 0;
}

/** An artwork placeholder: a gradient drawn from the id, with the name's initial. */
export function art(id, name = '', extra = '') {
  const seed = hash(id || 'segue');
  const first = seed % 360;
  const second = (first + 40 + ((seed >> 9) % 120)) % 360;
  const angle = (seed >> 17) % 360;
  const element = h('div', { class: `art ${extra}`, 'aria-hidden': 'true' }, (name || '?').trim().charAt(0).toUpperCase());
  // Set through the CSSOM, which the page's style-src 'self' allows (inline style attributes it would not).
  element.style.backgroundImage = `linear-gradient(${angle}deg, hsl(${first} 70% 50%), hsl(${second} 65% 22%))`;
  return element;
}

export function formatTime(ms) {
  const seconds = Math.max(0, Math.floor((ms || 0) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

const artistLinks = (artists = []) =>
  artists.flatMap((artist, i) => [i ? ', ' : '', h('a', { href: `#artist/${artist.id}` }, artist.name)]);

/**
 * A list of tracks. `entries`: [{track, uid?}]. Options: onPlay(index), removable (a remove
 * button per row), onRemove(entry), onMove(uid, position) (rows can be dragged).
 */
export function trackList(ctx, entries, options = {}) {
  const list = h('ol', { class: 'tracks' });
  if (!entries.length) return h('p', { class: 'empty' }, options.empty || 'Nothing here yet.');
  entries.forEach((entry, index) => {
    const { track } = entry;
    if (!track) return;
    const liked = ctx.liked.has(track.id);
    const row = h(
      'li',
      {
        class: `track-row${ctx.currentTrackId() === track.id ? ' current' : ''}${track.is_playable === false ? ' unplayable' : ''}`,
        dataset: { trackId: track.id, uid: entry.uid || '' },
        draggable: options.onMove ? 'true' : undefined,
      },
      h('span', { class: 'index' }, index + 1),
      art(track.album?.id || track.id, track.album?.name || track.name, 'tiny'),
      h(
        'div',
        { class: 'track-main' },
        h('button', {
          class: 'track-title', type: 'button', disabled: track.is_playable === false,
          title: track.is_playable === false ? 'Not available in your country' : undefined,
          onclick: () => options.onPlay(index),
        }, track.name),
        h('span', { class: 'track-sub' }, artistLinks(track.artists), track.album ? [' · ', h('a', { href: `#album/${track.album.id}` }, track.album.name)] : ''),
      ),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': 'Like', 'aria-pressed': String(liked),
        title: liked ? 'Remove from Liked songs' : 'Save to Liked songs',
        onclick: () => ctx.toggleLike(track.id),
      }, '♥'),
      addMenu(ctx, track),
      options.onRemove
        ? h('button', { type: 'button', class: 'icon-button', 'aria-label': `Remove ${track.name}`, title: 'Remove from this playlist', onclick: () => options.onRemove(entry) }, '✕')
        : h('span', { class: 'duration' }, formatTime(track.duration_ms)),
    );
    if (options.onMove) draggableRow(row, list, entry, options.onMove);
    list.append(row);
  });
  return list;
}

/**
 * Drag and drop within a list: dropping a row on another moves it to that row's index. From the
 * keyboard, Alt+↑ and Alt+↓ on a row move it by one.
 */
function draggableRow(row, list, entry, onMove) {
  row.title = 'Drag to reorder (or Alt+↑ / Alt+↓)';
  row.addEventListener('keydown', (event) => {
    if (!event.altKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return;
    event.preventDefault();
    const index = [...list.children].indexOf(row);
    const position = event.key === 'ArrowUp' ? index - 1 : index + 1;
    if (position >= 0 && position < list.children.length) onMove(entry.uid, position);
  });
  row.addEventListener('dragstart', (event) => {
    event.dataTransfer.setData('text/plain', entry.uid);
    event.dataTransfer.effectAllowed = 'move';
    row.classList.add('dragging');
  });
  row.addEventListener('dragend', () => row.classList.remove('dragging'));
  row.addEventListener('dragover', (event) => {
    event.preventDefault();
    row.classList.add('drop-target');
  });
  row.addEventListener('dragleave', () => row.classList.remove('drop-target'));
  row.addEventListener('drop', (event) => {
    event.preventDefault();
    row.classList.remove('drop-target');
    const uid = event.dataTransfer.getData('text/plain');
    const position = [...list.children].indexOf(row);
    if (uid && uid !== entry.uid && position >= 0) onMove(uid, position);
  });
}

/** "Add to…": a menu of the queue and the user's playlists. */
function addMenu(ctx, track) {
  const wrap = h('div', { class: 'add-menu' });
  const menu = h('ul', { hidden: true });
  const button = h('button', {
    type: 'button', class: 'icon-button', 'aria-label': 'Add to…', title: 'Add to playlist', 'aria-expanded': 'false',
    onclick: () => {
      const open = menu.hidden;
      const item = (name, action) =>
        h('li', {}, h('button', { type: 'button', onclick: () => { menu.hidden = true; action(); } }, name));
      menu.replaceChildren(
        item('Queue', () => ctx.addToQueue(track)),
        ...ctx.playlists.map((playlist) => item(playlist.name, () => ctx.addToPlaylist(playlist.id, track.id))),
      );
      menu.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
    },
  }, '+');
  wrap.append(button, menu);
  return wrap;
}

function card(kind, item, subtitle) {
  return h(
    'a',
    { class: 'card', href: `#${kind}/${item.id}` },
    art(item.id, item.name, kind === 'artist' ? 'round' : ''),
    h('span', { class: 'card-title' }, item.name),
    h('span', { class: 'muted small' }, subtitle),
  );
}

const cards = (items) => h('div', { class: 'cards' }, items);

function hero(kind, id, title, subtitle, actions = []) {
  return h(
    'header',
    { class: 'hero' },
    art(id, title, kind === 'Artist' ? 'round' : ''),
    h('div', {}, h('p', { class: 'kind' }, kind), h('h1', {}, title), h('p', { class: 'muted' }, subtitle), h('div', { class: 'hero-actions' }, actions)),
  );
}

/** Plays a list of tracks from its `index`-th, leaving out those the user may not play here. */
function playTracks(ctx, tracks, index = 0) {
  const playable = tracks.filter((t) => t.is_playable !== false);
  if (!playable.length) return;
  const position = Math.max(0, playable.indexOf(tracks[index]));
  ctx.play({ uris: playable.map((t) => t.uri), offset: { position } });
}

const listenButton = (onclick) => h('button', { type: 'button', class: 'primary', onclick }, '▶ Listen');

export async function home(ctx) {
  const recent = await api.get('/v1/me/player/recently-played?limit=10').catch(() => ({ items: [] }));
  const tracks = (recent.items || []).map((item) => item.track).filter(Boolean);
  return h(
    'div',
    {},
    h('h1', {}, `Good to see you, ${ctx.me.display_name || ctx.me.id}`),
    h('h2', { class: 'section-title' }, 'Your playlists'),
    ctx.playlists.length ? cards(ctx.playlists.map((p) => card('playlist', p, `${p.tracks?.total ?? p.items?.total ?? 0} tracks`))) : h('p', { class: 'empty' }, 'Create one in the sidebar.'),
    h('h2', { class: 'section-title' }, 'Recently played'),
    trackList(ctx, tracks.map((track) => ({ track })), {
      empty: 'Search for something to play.',
      onPlay: (i) => playTracks(ctx, tracks, i),
    }),
  );
}

export async function search(ctx, query) {
  if (!query.trim()) return h('p', { class: 'empty' }, 'Type to search tracks, artists, albums and playlists.');
  const found = await api.search(query);
  const tracks = found.tracks?.items || [];
  const artists = found.artists?.items || [];
  const albums = found.albums?.items || [];
  const playlists = (found.playlists?.items || []).filter(Boolean);
  return h(
    'div',
    { class: 'results' },
    h('h2', { class: 'section-title' }, 'Tracks'),
    trackList(ctx, tracks.map((track) => ({ track })), {
      empty: `No tracks match “${query}”.`,
      onPlay: (i) => playTracks(ctx, tracks, i),
    }),
    artists.length ? [h('h2', { class: 'section-title' }, 'Artists'), cards(artists.map((a) => card('artist', a, 'Artist')))] : null,
    albums.length ? [h('h2', { class: 'section-title' }, 'Albums'), cards(albums.map((a) => card('album', a, (a.artists || []).map((x) => x.name).join(', '))))] : null,
    playlists.length ? [h('h2', { class: 'section-title' }, 'Playlists'), cards(playlists.map((p) => card('playlist', p, p.owner?.display_name || '')))] : null,
  );
}

export async function track(ctx, id) {
  const item = await api.track(id);
  return h(
    'div',
    {},
    hero('Track', item.album?.id || item.id, item.name, h('span', {}, artistLinks(item.artists), ' · ', h('a', { href: `#album/${item.album.id}` }, item.album.name), ` · ${formatTime(item.duration_ms)}`),
      [listenButton(() => ctx.play({ context_uri: item.album.uri, offset: { uri: item.uri } }))]),
    trackList(ctx, [{ track: item }], { onPlay: () => ctx.play({ context_uri: item.album.uri, offset: { uri: item.uri } }) }),
  );
}

export async function album(ctx, id) {
  const [item, page] = await Promise.all([api.album(id), api.albumTracks(id)]);
  const tracks = page.items.map((t) => ({ ...t, album: t.album || { id: item.id, name: item.name, uri: item.uri } }));
  return h(
    'div',
    {},
    hero('Album', item.id, item.name, h('span', {}, artistLinks(item.artists), ` · ${item.release_date || ''} · ${tracks.length} tracks`),
      [listenButton(() => ctx.play({ context_uri: item.uri }))]),
    trackList(ctx, tracks.map((t) => ({ track: t })), { onPlay: (i) => ctx.play({ context_uri: item.uri, offset: { uri: tracks[i].uri } }) }),
  );
}

export async function artist(ctx, id) {
  const [item, top, albums] = await Promise.all([api.artist(id), api.artistTopTracks(id), api.artistAlbums(id)]);
  const tracks = top.tracks || [];
  return h(
    'div',
    {},
    hero('Artist', item.id, item.name, `${(item.genres || []).join(', ')}`, [listenButton(() => ctx.play({ context_uri: item.uri }))]),
    h('h2', { class: 'section-title' }, 'Popular'),
    trackList(ctx, tracks.map((t) => ({ track: t })), { onPlay: (i) => ctx.play({ context_uri: item.uri, offset: { uri: tracks[i].uri } }) }),
    h('h2', { class: 'section-title' }, 'Albums'),
    cards((albums.items || []).map((a) => card('album', a, a.release_date || 'Album'))),
  );
}

/** Applies the ops of a `playlist_changed` event to a subscribed playlist's items. */
export function applyPlaylistOps(playlist, ops) {
  let items = playlist.items.slice();
  for (const op of ops) {
    if (op.op === 'add') {
      const at = Math.min(op.position ?? items.length, items.length);
      const added = op.track_ids.map((track_id, i) => ({ uid: op.uids[i], track_id, added_by: op.added_by, added_at_ms: op.added_at_ms }));
      items.splice(at, 0, ...added);
    } else if (op.op === 'remove') {
      const gone = new Set(op.uids);
      items = items.filter((item) => !gone.has(item.uid));
    } else if (op.op === 'move') {
      const from = items.findIndex((item) => item.uid === op.uid);
      if (from >= 0) {
        const [moved] = items.splice(from, 1);
        items.splice(Math.min(op.position, items.length), 0, moved);
      }
    } else if (op.op === 'rename') {
      playlist.name = op.name;
    } else if (op.op === 'details' && op.collaborative !== undefined) {
      playlist.collaborative = op.collaborative;
    }
  }
  playlist.items = items;
  return playlist;
}

/** A playlist, kept live over the socket: ctx.openPlaylist subscribes and calls back on edits. */
export async function playlist(ctx, id) {
  const details = await api.playlist(id);
  const container = h('div', {});
  const listHolder = h('div', {});
  const title = h('span', {}, details.name);
  const isOwner = details.owner?.id === ctx.me.id;
  const invite = isOwner
    ? h('form', {
        class: 'invite',
        onsubmit: async (event) => {
          event.preventDefault();
          const input = event.currentTarget.elements.collaborator;
          try {
            await api.addCollaborator(id, input.value.trim());
            input.value = '';
            ctx.notify('Collaborator added');
          } catch (error) {
            ctx.notify(error.message);
          }
        },
      }, h('input', { name: 'collaborator', 'aria-label': "Collaborator's user id", placeholder: "Collaborator's user id", required: true }), h('button', { type: 'submit' }, 'Invite'))
    : null;
  const heading = hero('Playlist', id, details.name, h('span', {}, `${details.owner?.display_name || details.owner?.id || ''}${details.collaborative ? ' · collaborative' : ''}`),
    [listenButton(() => ctx.play({ context_uri: details.uri })), invite]);
  heading.querySelector('h1').replaceChildren(title);
  container.append(heading, listHolder);

  const draw = async (live) => {
    title.textContent = live.name;
    const tracks = await ctx.lookupTracks(live.items.map((item) => item.track_id));
    const entries = live.items.map((item) => ({ uid: item.uid, track: tracks.get(item.track_id) }));
    listHolder.replaceChildren(trackList(ctx, entries, {
      empty: 'This playlist is empty: add tracks with + from any list.',
      onPlay: (i) => ctx.play({ context_uri: details.uri, offset: { uri: entries[i].track.uri } }),
      onRemove: (entry) => ctx.editPlaylist(id, [{ op: 'remove', uids: [entry.uid] }]),
      onMove: (uid, position) => ctx.editPlaylist(id, [{ op: 'move', uid, position }]),
    }));
    listHolder.dataset.snapshot = live.snapshot_id;
  };
  await ctx.openPlaylist(id, draw);
  return container;
}

export async function liked(ctx) {
  const page = await api.likedTracks();
  const tracks = page.items.map((item) => item.track);
  return h(
    'div',
    {},
    hero('Playlist', 'liked-songs', 'Liked songs', `${page.total} tracks`, [listenButton(() => playTracks(ctx, tracks))]),
    trackList(ctx, tracks.map((t) => ({ track: t })), {
      empty: 'Tracks you like (♥) appear here.',
      onPlay: (i) => playTracks(ctx, tracks, i),
    }),
  );
}

export async function queue(ctx) {
  const state = ctx.state();
  const next = state?.queue?.next || [];
  const previous = state?.queue?.previous || [];
  const current = state?.playback?.track_id;
  const tracks = await ctx.lookupTracks([...(current ? [current] : []), ...next, ...previous]);
  const entries = (ids) => ids.map((id) => ({ track: tracks.get(id) }));
  return h(
    'div',
    {},
    h('h1', {}, 'Queue'),
    h('h2', { class: 'section-title' }, 'Now playing'),
    current ? trackList(ctx, entries([current]), { onPlay: () => ctx.send('play', {}) }) : h('p', { class: 'empty' }, 'Nothing is playing.'),
    h('h2', { class: 'section-title' }, 'Next up'),
    h('div', { class: 'queue-next' }, trackList(ctx, entries(next), { empty: 'The queue is empty.', onPlay: (i) => ctx.skipTo(i) })),
    previous.length ? [h('h2', { class: 'section-title' }, 'Played before'), trackList(ctx, entries(previous), { onPlay: () => ctx.send('previous', {}) })] : null,
  );
}

/** The Devices list: one button per device (named by the device), the active one marked. */
export function devices(list, state, myId, onTransfer) {
  const items = (state?.devices || []).filter((device) => device.online || device.is_active);
  list.replaceChildren(
    ...items.map((device) => {
      const active = device.device_id === state.active_device_id;
      const status = active ? (state.playback?.is_playing ? 'Playing' : 'Active') : device.device_id === myId ? 'This tab' : device.device_type;
      return h(
        'li',
        { class: `device${active ? ' active' : ''}`, dataset: { deviceId: device.device_id } },
        h('button', {
          type: 'button', 'aria-current': active ? 'true' : undefined, disabled: !device.can_play,
          onclick: () => onTransfer(device.device_id),
        }, device.name),
        h('span', { class: 'status' }, status),
      );
    }),
  );
  if (!items.length) list.append(h('li', { class: 'muted small' }, 'No devices online.'));
}

/** The friend panel. `friends`: Map user_id → activity; `tracks`: Map track_id → track. */
export function friends(list, friendsById, tracks) {
  const sorted = [...friendsById.values()].sort((a, b) => (b.timestamp_ms || 0) - (a.timestamp_ms || 0));
  list.replaceChildren(
    ...sorted.map((friend) => {
      const track = friend.track_id ? tracks.get(friend.track_id) : null;
      const doing = track ? `${friend.online ? '▶ ' : ''}${track.name} · ${(track.artists || []).map((a) => a.name).join(', ')}` : friend.online ? 'Online' : 'Offline';
      return h(
        'li',
        { class: `friend${friend.online ? ' online' : ''}`, dataset: { userId: friend.user_id } },
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
        h('div', { class: 'friend-text' },
          h('strong', {}, friend.display_name || friend.user_id),
          h('span', { class: 'muted small' }, track ? h('a', { href: `#track/${track.id}` }, doing) : doing),
          friend.timestamp_ms && !friend.online ? h('span', { class: 'muted small' }, ago(friend.timestamp_ms)) : null),
      );
    }),
  );
  if (!sorted.length) list.append(h('li', { class: 'muted small' }, 'Follow friends to see what they play.'));
}

function ago(ms) {
  const minutes = Math.round((Date.now() - ms) / 60000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 24 ? `${hours} h ago` : `${Math.round(hours / 24)} d ago`;
}
