// Drives Segue's web player in real Chromium (playwright-core with Debian's /usr/bin/chromium,
// never a downloaded browser) against the server at SEGUE_URL; tests/web_player.rs runs it.
// Each scenario prints "ok - <name>" when it passes; the first failure exits 1.
//
//   (a) register and log in through the page, search, play a track: currentTime advances
//   (b) two contexts of one user: a transfer through the Devices list carries on at about the
//       same position while the first tab falls silent
//   (c) a plain socket client (ws + @msgpack/msgpack, the library the page vendors) pauses, resumes and seeks the tab;
//       at the end of the track the tab says `track_ended` and goes on to the next one
//   (d) a collaborator's playlist edits (add, drag-and-drop and keyboard reorder, remove) appear live
//   (e) friend activity: a follower's side panel shows what the followed user plays
//   (f) album, artist, track, liked songs and queue views; remote Next, Volume, Seek, Pause, Play,
//       Previous and Shuffle from a silent tab,
//       with the free tier's skips left counting down
//   (g) the socket drops (a TCP proxy in front of the server cuts it and refuses new connections):
//       a banner says so, and the tab reconnects by itself once the server is reachable again
//
// SEGUE_WEB_SCREENSHOTS set: screenshots of the main views go to docs/screenshots/.
// SEGUE_WEB_FROM_DISK set: the page's files come from web/ on disk rather than from the server's
// binary (for working on the player without rebuilding the server).

import { readFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import * as msgpack from '@msgpack/msgpack';

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.SEGUE_URL;
if (!base) throw new Error('SEGUE_URL must name the server, e.g. http://127.0.0.1:7400');
const executablePath = process.env.SEGUE_TEST_CHROMIUM || '/usr/bin/chromium';
const screenshotDir = process.env.SEGUE_WEB_SCREENSHOTS ? join(here, '..', '..', 'docs', 'screenshots') : null;
const WAIT_MS = 15000;

// The page's own MessagePack codec (an ES module without a package.json of its own: a data URL).

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function screenshot(page, name) {
  if (!screenshotDir) return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
  console.log(`screenshot docs/screenshots/${name}.png`);
}

async function rest(method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const audio = (page) =>
  page.evaluate(() => {
    const element = document.getElementById('audio');
    return { currentTime: element.currentTime, paused: element.paused, src: element.currentSrc };
  });

/** Waits until the page's audio element satisfies `wanted` (run in the page). */
async function audioWhere(page, wanted, what, arg) {
  try {
    await page.waitForFunction(wanted, arg, { timeout: WAIT_MS, polling: 100 });
  } catch {
    throw new Error(`timed out waiting for ${what}; audio: ${JSON.stringify(await audio(page))}`);
  }
  return audio(page);
}

const advancing = (page, what) =>
  audioWhere(page, () => {
    const a = document.getElementById('audio');
    return !a.paused && a.currentTime > 0.5;
  }, what);

async function signIn(page, username, password, button) {
  await page.goto(base);
  await page.getByRole('textbox', { name: 'Username' }).fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.getByRole('searchbox', { name: 'Search' }).waitFor({ timeout: WAIT_MS });
  // Connected: this tab appears among the devices.
  await page.waitForFunction(() => document.querySelectorAll('#device-items button').length > 0, null, { timeout: WAIT_MS });
}

/** Types a query into the search box and waits for its results; the results' locator. */
async function searchFor(page, query) {
  await page.getByRole('searchbox', { name: 'Search' }).fill(query);
  await page.waitForFunction((q) => location.hash === `#search/${encodeURIComponent(q)}` && document.querySelector('#view .results'), query, { timeout: WAIT_MS });
  return page.locator('#view .results');
}

const deviceName = (page) => page.evaluate(() => localStorage.getItem('segue.deviceName'));
const tokenOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('segue.tokens')).access_token);

/** A plain Connect client over `ws`: hello, then requests answered by id. */
async function socketClient(token, deviceId) {
  const url = `${base.replace('http', 'ws')}/v1/connect?access_token=${encodeURIComponent(token)}`;
  const socket = new WebSocket(url);
  const pending = new Map();
  let nextId = 1;
  socket.on('message', (data) => {
    const frame = msgpack.decode(new Uint8Array(data));
    if (frame.type === 'reply' && pending.has(frame.id)) {
      pending.get(frame.id)(frame);
      pending.delete(frame.id);
    }
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const request = (type, body = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (frame) => (frame.ok ? resolve(frame.body) : reject(new Error(`${type}: ${JSON.stringify(frame.error)}`))));
      socket.send(msgpack.encode({ type, id, body }, { ignoreUndefined: true }));
    });
  const welcome = await request('hello', { device_id: deviceId, name: 'Test remote', device_type: 'smartphone', can_play: false, supports_volume: false });
  return { request, welcome, close: () => socket.close() };
}

/** A TCP proxy to the server that can cut every connection and refuse new ones for a while. */
async function cuttableProxy() {
  const upstream = new URL(base);
  const open = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const server = net.connect(Number(upstream.port), upstream.hostname);
    const pair = [client, server];
    pair.forEach((socket) => open.add(socket));
    const close = () => pair.forEach((socket) => { socket.destroy(); open.delete(socket); });
    client.pipe(server);
    server.pipe(client);
    pair.forEach((socket) => { socket.on('error', close); socket.on('close', close); });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close: () => { for (const socket of open) socket.destroy(); server.close(); },
  };
}

const scenarios = [];
const scenario = (name, run) => scenarios.push({ name, run });

const browser = await chromium.launch({
  executablePath,
  args: [
    '--headless', '--no-sandbox', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required',
    // Files fulfilled by the test lose the server's address: Chromium would take the page for a
    // public one and refuse its socket to 127.0.0.1.
    ...(process.env.SEGUE_WEB_FROM_DISK ? ['--disable-features=LocalNetworkAccessChecks'] : []),
  ],
});
const viewport = { width: 1200, height: 720 };
const webDir = join(here, '..', '..', 'web');
const contentTypes = { js: 'text/javascript', css: 'text/css', svg: 'image/svg+xml', html: 'text/html' };

async function newContext() {
  const context = await browser.newContext({ viewport });
  if (process.env.SEGUE_WEB_FROM_DISK) {
    await context.route(/\/(web\/[a-z.]+)?(#.*)?$/, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname !== '/' && !url.pathname.startsWith('/web/')) return route.continue();
      const file = url.pathname === '/' ? 'index.html' : url.pathname.slice('/web/'.length);
      const response = await route.fetch();
      await route.fulfill({ response, body: readFileSync(join(webDir, file)), contentType: contentTypes[file.split('.').pop()] });
    });
  }
  return context;
}
const suffix = Date.now().toString(36);
const alice = { username: `alice_${suffix}`, password: 'correct-horse-battery' };
const bob = { username: `bob_${suffix}`, password: 'correct-horse-battery' };
const contextA = await newContext();
const contextB = await newContext();
const pageA = await contextA.newPage();
const pageB = await contextB.newPage();
for (const [name, page] of [['A', pageA], ['B', pageB]]) {
  page.on('pageerror', (error) => console.log(`page ${name} error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.log(`page ${name} console: ${message.text()}`);
  });
}
let playingTrack = null;

scenario('(a) register, search, play: the audio element plays', async () => {
  await pageA.goto(base);
  await pageA.getByRole('textbox', { name: 'Username' }).fill(alice.username);
  await pageA.getByRole('textbox', { name: 'Password' }).fill(alice.password);
  await pageA.getByRole('button', { name: 'Register', exact: true }).click();
  const search = pageA.getByRole('searchbox', { name: 'Search' });
  await search.waitFor({ timeout: WAIT_MS });
  // Autocomplete: a prefix typed key by key finds tracks.
  await search.pressSequentially('lo', { delay: 60 });
  const firstPlayable = pageA.locator('.track-row:not(.unplayable) .track-title').first();
  await firstPlayable.waitFor({ timeout: WAIT_MS });
  check(pageA.url().includes('#search/lo'), `the search is in the address: ${pageA.url()}`);
  playingTrack = await firstPlayable.textContent();
  await screenshot(pageA, 'search');
  const clickedAt = Date.now();
  await firstPlayable.click();
  const started = await advancing(pageA, 'tab A to play');
  console.log(`play: tab A was playing (currentTime past 0.5 s) ${Date.now() - clickedAt} ms after the click`);
  await sleep(1500);
  const later = await audio(pageA);
  check(!later.paused && later.currentTime > started.currentTime + 0.8, `currentTime advances: ${started.currentTime} → ${later.currentTime}`);
  check(later.src.includes('/v1/audio/'), `the audio comes from the signed stream URL: ${later.src}`);
  const title = await pageA.locator('#now-title').textContent();
  check(title === playingTrack, `the player bar shows the track: ${title} vs ${playingTrack}`);
});

scenario('(b) transfer through the Devices list: B continues, A falls silent', async () => {
  await signIn(pageB, alice.username, alice.password, 'Log in');
  const nameB = await deviceName(pageB);
  await pageB.getByRole('button', { name: 'Devices', exact: true }).click();
  const target = pageB.getByRole('button', { name: nameB, exact: true });
  await target.waitFor({ timeout: WAIT_MS });
  const nameA = await deviceName(pageA);
  check(await pageB.getByRole('button', { name: nameA, exact: true }).isVisible(), 'the list names tab A too');
  check((await pageB.locator('#where').textContent()).includes(nameA), 'B says where the music plays');
  await screenshot(pageB, 'devices');
  const before = await audio(pageA);
  const clickedAt = Date.now();
  await target.click();
  await audioWhere(pageA, () => document.getElementById('audio').paused, 'tab A to fall silent');
  const arrived = await advancing(pageB, 'tab B to play');
  const expected = before.currentTime + (Date.now() - clickedAt) / 1000;
  check(Math.abs(arrived.currentTime - expected) < 2.5, `B picks up at about the same position: ${arrived.currentTime} vs ${expected}`);
  console.log(`transfer: B was playing ${Date.now() - clickedAt} ms after the click, ${Math.round((arrived.currentTime - expected) * 1000)} ms from where A would have been`);
  await sleep(1000);
  const a = await audio(pageA);
  const b = await audio(pageB);
  check(a.paused && !b.paused && b.currentTime > arrived.currentTime + 0.5, `A silent, B advancing: ${JSON.stringify({ a, b })}`);
  check(await pageB.locator('.device.active button').textContent() === nameB, 'the Devices list marks B active');
});

scenario('(c) a plain socket client pauses, resumes and seeks the tab', async () => {
  const remote = await socketClient(await tokenOf(pageB), 'test-remote');
  check(remote.welcome.state.active_device_id === (await pageB.evaluate(() => localStorage.getItem('segue.deviceId'))), 'B is active');
  await remote.request('pause');
  const paused = await audioWhere(pageB, () => document.getElementById('audio').paused, 'the pause to reach tab B');
  await sleep(800);
  const still = await audio(pageB);
  check(still.paused && Math.abs(still.currentTime - paused.currentTime) < 0.05, `B stays paused: ${paused.currentTime} → ${still.currentTime}`);
  await remote.request('seek', { position_ms: 30000 });
  await remote.request('play', {});
  const resumed = await audioWhere(pageB, () => {
    const a = document.getElementById('audio');
    return !a.paused && a.currentTime >= 29.5;
  }, 'tab B to resume at 30 s');
  check(resumed.currentTime < 33, `resumed near 30 s: ${resumed.currentTime}`);
  check((await audio(pageA)).paused, 'A stays silent');
  // Near the end of the track: the tab reports `track_ended` and the session moves it on.
  // (Still the track tab A started in (a), the one the welcome names.)
  const duration = remote.welcome.state.playback.duration_ms;
  const endingSrc = (await audio(pageB)).src;
  await remote.request('seek', { position_ms: duration - 1500 });
  const moved = await audioWhere(pageB, (src) => {
    const a = document.getElementById('audio');
    return a.currentSrc !== src && !a.paused && a.currentTime > 0.2;
  }, 'tab B to go on to the next track after the end', endingSrc);
  check(moved.currentTime < 5, `the next track starts from its beginning: ${moved.currentTime}`);
  remote.close();
});

let playlistId = null;
let pageC = null;

scenario("(d) a collaborator's playlist edits appear live in the other tab", async () => {
  const bobAccount = await rest('POST', '/v1/auth/register', null, { username: bob.username, password: bob.password });
  // Alice makes a collaborative playlist in tab A and invites Bob by his user id.
  await pageA.evaluate(() => { location.hash = '#home'; });
  await pageA.getByRole('textbox', { name: 'New playlist name' }).fill('Road trip');
  await pageA.getByLabel('Collaborative').check();
  await pageA.getByRole('button', { name: 'Create', exact: true }).click();
  await pageA.waitForURL(/#playlist\//, { timeout: WAIT_MS });
  playlistId = pageA.url().split('#playlist/')[1];
  await pageA.getByRole('textbox', { name: "Collaborator's user id" }).fill(bobAccount.id);
  await pageA.getByRole('button', { name: 'Invite', exact: true }).click();
  await pageA.getByText('Collaborator added').waitFor({ timeout: WAIT_MS });

  // Bob opens it in a context of his own.
  const contextC = await newContext();
  pageC = await contextC.newPage();
  pageC.on('pageerror', (error) => console.log(`page C error: ${error.message}`));
  await signIn(pageC, bob.username, bob.password, 'Log in');
  await pageC.evaluate((id) => { location.hash = `#playlist/${id}`; }, playlistId);
  await pageC.getByText('This playlist is empty').waitFor({ timeout: WAIT_MS });

  // Alice adds three tracks from a search, through each row's "Add to…" menu.
  const rows = (await searchFor(pageA, 'e')).locator('.track-row:not(.unplayable)');
  await rows.nth(3).waitFor({ timeout: WAIT_MS });
  const added = [];
  for (let i = 0; i < 3; i++) {
    const row = rows.nth(i);
    added.push(await row.locator('.track-title').textContent());
    await row.getByRole('button', { name: 'Add to…' }).click();
    await row.getByRole('button', { name: 'Road trip', exact: true }).click();
    await pageC.locator('.track-row').nth(i).waitFor({ timeout: WAIT_MS });
  }
  const titlesIn = (page) => page.locator('.track-row .track-title').allTextContents();
  check(JSON.stringify(await titlesIn(pageC)) === JSON.stringify(added), `Bob sees Alice's adds in order: ${await titlesIn(pageC)} vs ${added}`);

  // Alice opens the playlist; Bob drags the third track to the top; Alice sees the new order.
  await pageA.evaluate((id) => { location.hash = `#playlist/${id}`; }, playlistId);
  await pageA.locator('.track-row').nth(2).waitFor({ timeout: WAIT_MS });
  await pageC.locator('.track-row').nth(2).dragTo(pageC.locator('.track-row').nth(0));
  const reordered = [added[2], added[0], added[1]];
  await pageA.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('.track-row .track-title')].map((e) => e.textContent)) === want,
    JSON.stringify(reordered), { timeout: WAIT_MS },
  ).catch(async () => { throw new Error(`Alice sees ${await titlesIn(pageA)}, not ${reordered}`); });
  await screenshot(pageC, 'playlist');

  // From the keyboard: Alt+↓ on Bob's first row moves it one down.
  await pageC.locator('.track-row .track-title').first().focus();
  await pageC.keyboard.press('Alt+ArrowDown');
  const byKeyboard = [added[0], added[2], added[1]];
  await pageA.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('.track-row .track-title')].map((e) => e.textContent)) === want,
    JSON.stringify(byKeyboard), { timeout: WAIT_MS },
  ).catch(async () => { throw new Error(`after Alt+↓ Alice sees ${await titlesIn(pageA)}, not ${byKeyboard}`); });

  // Bob removes one; it leaves Alice's view.
  await pageC.getByRole('button', { name: `Remove ${added[0]}`, exact: true }).click();
  const remaining = [added[2], added[1]];  // byKeyboard without added[0]
  await pageA.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('.track-row .track-title')].map((e) => e.textContent)) === want,
    JSON.stringify(remaining), { timeout: WAIT_MS },
  ).catch(async () => { throw new Error(`after the removal Alice sees ${await titlesIn(pageA)}, not ${remaining}`); });
});

scenario('(e) friend activity: Bob follows Alice and sees what she plays', async () => {
  const aliceId = await pageA.locator('#my-id').textContent();
  await pageC.getByRole('textbox', { name: "Friend's user id" }).fill(aliceId);
  await pageC.getByRole('button', { name: 'Follow', exact: true }).click();
  const friend = pageC.locator(`.friend[data-user-id="${aliceId}"]`);
  await friend.waitFor({ timeout: WAIT_MS });
  await pageC.waitForFunction((id) => document.querySelector(`.friend[data-user-id="${id}"]`)?.classList.contains('online'), aliceId, { timeout: WAIT_MS });
  // Alice starts another track from tab A (it plays on her active device): Bob's panel follows live.
  const next = (await searchFor(pageA, 'a')).locator('.track-row:not(.unplayable) .track-title').nth(1);
  await next.waitFor({ timeout: WAIT_MS });
  const title = await next.textContent();
  await next.click();
  await pageC.waitForFunction(
    ([id, want]) => document.querySelector(`.friend[data-user-id="${id}"]`)?.textContent.includes(want),
    [aliceId, title], { timeout: WAIT_MS },
  ).catch(async () => { throw new Error(`Bob's panel shows ${await friend.textContent()}, not ${title}`); });
  await screenshot(pageC, 'friends');
});

scenario('(f) views, and remote control of the playing tab from a silent one', async () => {
  const albumCard = (await searchFor(pageA, 'lo')).locator('.cards a[href^="#album/"]').first();
  await albumCard.waitFor({ timeout: WAIT_MS });
  await albumCard.click();
  await pageA.locator('.hero .kind', { hasText: 'Album' }).waitFor({ timeout: WAIT_MS });
  await pageA.locator('.track-row').first().waitFor({ timeout: WAIT_MS });
  await screenshot(pageA, 'album');
  await pageA.locator('.hero a[href^="#artist/"]').first().click();
  await pageA.locator('.hero .kind', { hasText: 'Artist' }).waitFor({ timeout: WAIT_MS });
  const row = pageA.locator('.track-row:not(.unplayable)').first();
  await row.waitFor({ timeout: WAIT_MS });
  const likedTitle = await row.locator('.track-title').textContent();
  await row.getByRole('button', { name: 'Like', exact: true }).click();
  await pageA.waitForFunction(() => document.querySelector('.track-row:not(.unplayable) [aria-label="Like"]').getAttribute('aria-pressed') === 'true', null, { timeout: WAIT_MS });
  await pageA.getByRole('link', { name: 'Liked songs' }).click();
  await pageA.locator('.track-row .track-title', { hasText: likedTitle }).waitFor({ timeout: WAIT_MS });

  // Tab A is silent (B plays): its Next and Volume control tab B.
  const skipsText = async () => (await pageA.locator('#skips').textContent()).match(/(\d+) of (\d+)/);
  const [, leftBefore] = await skipsText();
  const srcBefore = (await audio(pageB)).src;
  await pageA.getByRole('button', { name: 'Next', exact: true }).click();
  await pageB.waitForFunction((src) => {
    const a = document.getElementById('audio');
    return a.currentSrc !== src && !a.paused;
  }, srcBefore, { timeout: WAIT_MS });
  await pageA.waitForFunction((before) => document.getElementById('skips').textContent.includes(`${before - 1} of`), Number(leftBefore), { timeout: WAIT_MS });
  await pageA.locator('#volume').fill('30');
  await pageB.waitForFunction(() => Math.abs(document.getElementById('audio').volume - 0.3) < 0.01, null, { timeout: WAIT_MS });
  await pageA.locator('#seek').fill('60000');
  await pageB.waitForFunction(() => Math.abs(document.getElementById('audio').currentTime - 60) < 2.5, null, { timeout: WAIT_MS });
  await pageA.getByRole('button', { name: 'Pause', exact: true }).click();
  await audioWhere(pageB, () => document.getElementById('audio').paused, 'the Pause of tab A to reach tab B');
  await pageA.getByRole('button', { name: 'Play', exact: true }).click();
  await advancing(pageB, 'the Play of tab A to reach tab B');
  await pageA.getByRole('button', { name: 'Previous', exact: true }).click();
  await pageB.waitForFunction(() => document.getElementById('audio').currentTime < 3, null, { timeout: WAIT_MS });
  await pageA.getByRole('button', { name: 'Shuffle', exact: true }).click();
  await pageA.waitForFunction(() => document.getElementById('shuffle').getAttribute('aria-pressed') === 'true', null, { timeout: WAIT_MS });
  check((await audio(pageA)).paused, 'A stays silent');
  // The liked track, queued through its "Add to…" menu, is next in the queue view.
  const likedRow = pageA.locator('.track-row', { hasText: likedTitle }).first();
  await likedRow.getByRole('button', { name: 'Add to…' }).click();
  await likedRow.getByRole('button', { name: 'Queue', exact: true }).click();
  await pageA.getByText('is next in the queue').waitFor({ timeout: WAIT_MS });
  await pageA.getByRole('link', { name: 'Queue' }).click();
  const nowTitle = await pageA.locator('#now-title').textContent();
  await pageA.locator('.track-row.current .track-title', { hasText: nowTitle }).first().waitFor({ timeout: WAIT_MS });
  const upNext = pageA.locator('.queue-next .track-row .track-title').first();
  await upNext.waitFor({ timeout: WAIT_MS });
  check(await upNext.textContent() === likedTitle, `the queued track is next: ${await upNext.textContent()} vs ${likedTitle}`);
  // The player bar's title opens the track's own view.
  await pageA.locator('#now-title').click();
  await pageA.locator('.hero .kind', { hasText: 'Track' }).waitFor({ timeout: WAIT_MS });
  check(await pageA.locator('.hero h1').textContent() === nowTitle, 'the track view names the playing track');
  await screenshot(pageA, 'queue');
});

scenario('(g) the socket drops: a banner, then the tab reconnects by itself', async () => {
  const proxy = await cuttableProxy();
  const contextD = await newContext();
  const pageD = await contextD.newPage();
  try {
    await pageD.goto(proxy.url);
    await pageD.getByRole('textbox', { name: 'Username' }).fill(alice.username);
    await pageD.getByRole('textbox', { name: 'Password' }).fill(alice.password);
    await pageD.getByRole('button', { name: 'Log in', exact: true }).click();
    const nameD = await (async () => {
      await pageD.waitForFunction(() => document.querySelectorAll('#device-items button').length > 0, null, { timeout: WAIT_MS });
      return deviceName(pageD);
    })();
    const banner = pageD.getByRole('alert').filter({ hasText: 'Connection lost' });
    check(!(await banner.isVisible()), 'no banner while connected');
    proxy.cut();
    await banner.waitFor({ timeout: WAIT_MS });
    await screenshot(pageD, 'reconnecting');
    // Tab A sees tab D go offline: it leaves the Devices list.
    await pageA.waitForFunction((name) => ![...document.querySelectorAll('#device-items button')].some((b) => b.textContent === name), nameD, { timeout: WAIT_MS });
    await sleep(2500);
    check(await banner.isVisible(), 'the banner stays while the server is unreachable');
    proxy.restore();
    await banner.waitFor({ state: 'hidden', timeout: 20000 });
    // Back online: tab A lists tab D again, and D follows the session (it shows where Alice plays).
    await pageA.waitForFunction((name) => [...document.querySelectorAll('#device-items button')].some((b) => b.textContent === name), nameD, { timeout: WAIT_MS });
    await pageD.waitForFunction(() => document.getElementById('where').textContent.startsWith('Playing on'), null, { timeout: WAIT_MS });
  } finally {
    await contextD.close();
    proxy.close();
  }
});

let failed = false;
for (const { name, run } of scenarios) {
  const started = Date.now();
  try {
    await run();
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    console.log(`not ok - ${name}: ${error.stack || error}`);
    for (const [label, page] of [['A', pageA], ['B', pageB], ['C', pageC]]) {
      if (!page || page.isClosed()) continue;
      const seen = await page.evaluate(() => ({
        url: location.href,
        notice: document.getElementById('toast')?.textContent,
        banner: document.getElementById('banner').textContent,
        where: document.getElementById('where').textContent,
        nowPlaying: document.getElementById('now-title').textContent,
        devices: [...document.querySelectorAll('#device-items li')].map((li) => li.textContent),
      })).catch((e) => e.message);
      console.log(`page ${label}: ${JSON.stringify(seen)}; audio ${JSON.stringify(await audio(page).catch(() => null))}`);
    }
    failed = true;
    break;
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
