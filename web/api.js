// The REST API (rest-api-v1.md): sign-in, the tokens kept in localStorage, and one `request`
// that sends the bearer token, renews it once with the refresh token on a 401, and turns the
// API's `{"error": {...}}` into an ApiError.

const TOKENS_KEY = 'segue.tokens';

export class ApiError extends Error {
  constructor(status, reason, message) {
    super(message || reason || `HTTP ${status}`);
    this.status = status;
    this.reason = reason;
  }
}

/** The signed-in user's tokens ({access_token, refresh_token}), or null. */
export function tokens() {
  try {
    return JSON.parse(localStorage.getItem(TOKENS_KEY));
  } catch {
    return null;
  }
}

function keepTokens(answer) {
  const kept = { access_token: answer.access_token, refresh_token: answer.refresh_token };
  localStorage.setItem(TOKENS_KEY, JSON.stringify(kept));
  return kept;
}

export function signOut() {
  localStorage.removeItem(TOKENS_KEY);
}

async function send(method, path, { body, token } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const error = parsed && parsed.error ? parsed.error : {};
    throw new ApiError(response.status, error.reason, error.message);
  }
  return parsed;
}

export async function register(username, password) {
  return keepTokens(await send('POST', '/v1/auth/register', { body: { username, password } }));
}

export async function logIn(username, password) {
  return keepTokens(await send('POST', '/v1/auth/login', { body: { username, password } }));
}

let refreshing = null;

/** Trades the refresh token for new tokens (one exchange at a time); null when it is refused. */
export function refreshTokens() {
  if (!refreshing) {
    const held = tokens();
    refreshing = (async () => {
      if (!held || !held.refresh_token) return null;
      try {
        return keepTokens(await send('POST', '/v1/auth/refresh', { body: { refresh_token: held.refresh_token } }));
      } catch (error) {
        if (error instanceof ApiError && error.status < 500) signOut();
        return null;
      }
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Calls the API as the signed-in user; the answer's JSON, or null for an empty answer. */
export async function request(method, path, body) {
  const held = tokens();
  if (!held) throw new ApiError(401, 'UNAUTHORIZED', 'not signed in');
  try {
    return await send(method, path, { body, token: held.access_token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    const renewed = await refreshTokens();
    if (!renewed) throw error;
    return send(method, path, { body, token: renewed.access_token });
  }
}

export const get = (path) => request('GET', path);
const query = (params) => new URLSearchParams(params).toString();

export const me = () => get('/v1/me');
export const search = (q, limit = 10) =>
  get(`/v1/search?${query({ q, type: 'track,artist,album,playlist', limit })}`);
export const track = (id) => get(`/v1/tracks/${encodeURIComponent(id)}`);
export const tracks = (ids) => get(`/v1/tracks?${query({ ids: ids.join(',') })}`);
export const album = (id) => get(`/v1/albums/${encodeURIComponent(id)}`);
export const albumTracks = (id) => get(`/v1/albums/${encodeURIComponent(id)}/tracks?limit=50`);
export const artist = (id) => get(`/v1/artists/${encodeURIComponent(id)}`);
export const artistAlbums = (id) => get(`/v1/artists/${encodeURIComponent(id)}/albums?limit=20`);
export const artistTopTracks = (id) => get(`/v1/artists/${encodeURIComponent(id)}/top-tracks`);
export const playlist = (id) => get(`/v1/playlists/${encodeURIComponent(id)}`);
export const myPlaylists = () => get('/v1/me/playlists?limit=50');
export const createPlaylist = (name, collaborative) =>
  request('POST', '/v1/me/playlists', { name, collaborative, public: !collaborative });
export const addCollaborator = (playlistId, userId) =>
  request('POST', `/v1/playlists/${encodeURIComponent(playlistId)}/collaborators`, { user_id: userId });
export const streamUrl = (id) => get(`/v1/tracks/${encodeURIComponent(id)}/stream?quality=normal`);
export const likedTracks = () => get('/v1/me/tracks?limit=50');
export const likedContains = (ids) => get(`/v1/me/tracks/contains?${query({ ids: ids.join(',') })}`);
export const like = (ids) => request('PUT', `/v1/me/tracks?${query({ ids: ids.join(',') })}`);
export const unlike = (ids) => request('DELETE', `/v1/me/tracks?${query({ ids: ids.join(',') })}`);
export const follow = (userId) => request('PUT', `/v1/me/following?${query({ type: 'user', ids: userId })}`);
