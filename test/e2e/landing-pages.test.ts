// Where a person lands with a browser, a page in the look of the others, at 1280×800 and 390×844 — and
// the same URLs still answer JSON to programs: a profile not set up, one not registered (Register starts
// it and lands on its page), a stopped worker (Start), a worker that keeps crashing (last exit, readable
// lines, Restart, its logs), and Google unreachable on the OAuth callback (what failed, what to check,
// Try again, which then connects), and the profile page following Connect Google in the other tab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Page } from 'puppeteer-core';
import { clientFile, makeConfigDir, TEST_CLIENT_SECRET } from '../helpers/config-dir.ts';
import { assertUsable, launchBrowser, VIEWPORTS, waitForText } from '../helpers/e2e.ts';
import { requestUrl } from '../helpers/http.ts';
import { freePort, lastPort } from '../helpers/ports.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { clientIdOf } from '../helpers/google.ts';
import { startFakeGoogle } from '../fixtures/fake-google.ts';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** The landing card: its code, status, title and text. */
async function landing(page: Page) {
  await page.waitForSelector('main.landing section.card');
  return page.$eval('main.landing section.card', (n: any) => ({
    code: n.dataset.code as string,
    status: Number(n.dataset.status),
    title: String(n.querySelector('h2')?.textContent ?? ''),
    text: String(n.textContent).replace(/\s+/g, ' '),
    buttons: [...n.querySelectorAll('button, a.button')].map((b: any) => String(b.textContent).trim()),
  }));
}

test('the pages a person lands on, and JSON for programs', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const google = await startFakeGoogle();
  t.after(() => google.close());
  const config = await makeConfigDir({ profiles: ['a', 'b', 'broken'] });
  t.after(() => config.remove());
  await config.addCredentials('newbie');
  // "g" signs in at the fake Google, whose token endpoint this server cannot reach (nobody listens there)
  // until `network.up()` forwards that port to the fake
  const network = await tokenEndpointNetwork(new URL(google.tokenUri).port);
  t.after(() => network.down());
  const tokenUri = `http://127.0.0.1:${network.port}/token`;
  await config.writeJson('google_creds/credentials_g.json', clientFile('g', { auth_uri: google.authUri, token_uri: tokenUri }));
  await config.writeJson('tokens/token_g.json', { placeholder: true, handle: 'g' });
  google.addClient({ client_id: clientIdOf('g'), client_secret: TEST_CLIENT_SECRET, kind: 'installed' });
  await config.writeJson('ports.json', { broken: await lastPort(t, { hold: true }) });
  await config.writeJson('last_profile.json', { last_profile: 'a' });

  const sup = await startSupervisor({ config, env: { STOP_TIMEOUT_MS: '3000', MAX_RESTARTS: '2' }, waitReady: ['a', 'b', 'g'] });
  t.after(() => sup.cleanup());
  assert.equal((await sup.post('/supervisor/api/workers/b/stop')).status, 200);
  await sup.waitForState('b', 'stopped');
  await sup.waitForState('broken', 'errored', 20_000);

  await t.test('programs keep the JSON answers; browsers get pages with the same status', async () => {
    const cases = [
      { path: '/p/nobody/', status: 404, error: 'profile_not_found' },
      { path: '/p/newbie/', status: 404, error: 'profile_not_found' },
      { path: '/p/b/', status: 503, error: 'worker_unavailable' },
      { path: '/p/broken/', status: 503, error: 'worker_unavailable' },
      { path: '/p/Bad%20Name/', status: 404, error: 'profile_not_found' },
      // an error of the supervisor's own app, and of a worker's (through the proxy)
      { path: '/supervisor/api/workers/nobody', status: 404, error: 'profile_not_found' },
      { path: '/p/a/api/mis/csv', status: 404, error: 'not_found' },
    ];
    for (const c of cases) {
      const json = await sup.get(c.path);
      assert.equal(json.status, c.status, `${c.path}: ${json.text}`);
      assert.match(String(json.headers['content-type']), /application\/json/, c.path);
      assert.equal(json.body.error, c.error, c.path);
      const page = await sup.get(c.path, HTML);
      assert.equal(page.status, c.status, `${c.path} as a page`);
      assert.match(String(page.headers['content-type']), /text\/html/, c.path);
      assert.match(page.text, /<link rel="stylesheet" href="[^"]*assets\/base\.css">/, `${c.path}: the look of the other pages`);
      assert.ok(!page.text.includes('{"'), `${c.path}: no JSON in the page`);
      assert.equal(String(page.headers.vary ?? '').toLowerCase().includes('accept'), true, `${c.path}: Vary: Accept`);
    }
    const errored = await sup.get('/p/broken/');
    assert.equal(errored.body.state, 'errored');
    assert.ok(Array.isArray(errored.body.last_log_lines));
  });

  for (const viewport of VIEWPORTS) {
    await t.test(`${viewport.name}: a profile not set up names the file to create`, async () => {
      const page = await chrome.newPage(viewport);
      await page.goto(`${sup.url}/p/nobody/`);
      const card = await landing(page);
      assert.equal(card.code, 'profile_not_found');
      assert.match(card.title, /"nobody" is not set up yet/);
      // the config dir is a temp dir here: shown as its full path (under the project it is `config/…`)
      assert.ok(card.text.includes(`Save it as ${config.file('google_creds', 'credentials_nobody.json')}.`), card.text);
      assert.match(card.text, /Desktop App/);
      assert.deepEqual(card.buttons, ['Register nobody', 'All profiles']);
      await assertUsable(page, `not set up, ${viewport.name}`, ['main.landing button']);
      await page.close();
    });

    await t.test(`${viewport.name}: a profile not registered yet offers Register`, async () => {
      const page = await chrome.newPage(viewport);
      await page.goto(`${sup.url}/p/newbie/`);
      const card = await landing(page);
      assert.match(card.title, /"newbie" is not registered yet/);
      assert.ok(card.text.includes(`Google credentials filepresent: ${config.file('google_creds', 'credentials_newbie.json')}`), card.text);
      assert.match(card.text, /Registered\s*no/);
      await assertUsable(page, `not registered, ${viewport.name}`, ['main.landing button']);
      await page.close();
    });

    await t.test(`${viewport.name}: a stopped worker says so and offers Start`, async () => {
      const page = await chrome.newPage(viewport);
      await page.goto(`${sup.url}/p/b/`);
      const card = await landing(page);
      assert.equal(card.status, 503);
      assert.match(card.title, /"b" is stopped/);
      assert.match(card.text, /does not start by itself/);
      assert.deepEqual(card.buttons, ['Start it', 'All profiles']);
      await assertUsable(page, `stopped, ${viewport.name}`, ['main.landing button']);
      await page.close();
    });

    await t.test(`${viewport.name}: a crashing worker shows its last exit, readable lines and Restart`, async () => {
      const page = await chrome.newPage(viewport);
      await page.goto(`${sup.url}/p/broken/`);
      const card = await landing(page);
      assert.match(card.title, /"broken" keeps crashing/);
      assert.match(card.text, /Last exit\s*code 75 \(port conflict\)/);
      assert.match(card.text, /65535/);
      assert.deepEqual(card.buttons, ['Restart it', 'All its logs', 'All profiles']);
      const lines = await page.$$eval('[data-testid="log-lines"] li', (ns) => ns.map((n: any) => String(n.textContent)));
      assert.ok(lines.length > 0, 'its last lines');
      assert.ok(lines.every((l) => !l.includes('{"')), `readable, not JSON: ${lines.join(' | ')}`);
      assert.equal(new Set(lines).size, lines.length, `a repeated line is shown once, counted: ${lines.join(' | ')}`);
      await assertUsable(page, `errored, ${viewport.name}`, ['main.landing button', 'main.landing a.button']);
      await page.close();
    });
  }

  await t.test('Start on the stopped page starts the worker and lands on its page', async () => {
    const page = await chrome.newPage();
    await page.goto(`${sup.url}/p/b/`);
    await landing(page);
    await Promise.all([page.waitForNavigation({ timeout: 30_000 }), page.click('main.landing button[data-post]')]);
    await waitForText(page, '#title-handle', 'b');
    assert.equal((await sup.worker('b'))!.state, 'ready');
    await page.close();
  });

  await t.test('Register on the not-registered page registers it and lands on its page', async () => {
    const page = await chrome.newPage();
    await page.goto(`${sup.url}/p/newbie/`);
    await landing(page);
    await Promise.all([page.waitForNavigation({ timeout: 30_000 }), page.click('main.landing button[data-post]')]);
    await waitForText(page, '#title-handle', 'newbie');
    assert.equal((await sup.worker('newbie'))!.state, 'ready');
    assert.ok(await config.exists('tokens/token_newbie.json'));
    await page.close();
  });

  for (const viewport of VIEWPORTS) {
    await t.test(`${viewport.name}: Google unreachable on the callback: what failed, what to check, Try again`, async () => {
      await network.down();
      const start = await sup.post('/p/g/api/auth/google');
      assert.equal(start.status, 200, start.text);
      assert.equal(start.body.redirect_uri, `http://localhost:${sup.port}/p/g/api/auth/google/callback`);
      const page = await chrome.newPage(viewport);
      // The person opens the link, allows access at Google, and Google sends them back here.
      await page.goto(start.body.auth_url);
      const card = await landing(page);
      assert.equal(card.code, 'google_unreachable');
      assert.equal(card.status, 502);
      assert.equal(card.title, 'Google could not be reached');
      assert.match(card.text, new RegExp(`could not reach Google at 127\\.0\\.0\\.1:${network.port} \\(ECONNREFUSED\\)`));
      assert.match(card.text, /network connection, its DNS, or the proxy/);
      assert.deepEqual(card.buttons, ['Try again', 'Back to the page of g']);
      await assertUsable(page, `Google unreachable, ${viewport.name}`, ['main.landing a.button']);
      // the JSON of the same failure, for a program
      const json = await sup.get(new URL(page.url()).pathname + new URL(page.url()).search);
      assert.equal(json.status, 502, json.text);
      assert.equal(json.body.error, 'google_unreachable');

      // the network is back: Try again connects the account with what was allowed
      await network.up();
      await Promise.all([page.waitForNavigation(), page.click('main.landing a.button.primary')]);
      const done = await landing(page);
      assert.equal(done.title, 'Google account connected');
      assert.equal((await sup.get('/p/g/api/profile/current')).body.authenticated, true);
      await page.close();
      await config.writeJson('tokens/token_g.json', { placeholder: true, handle: 'g' });
    });
  }

  await t.test('Connect Google waits for the person, and a cancel makes its link stop working', async () => {
    const start = await sup.post('/p/g/api/auth/google');
    assert.equal(start.status, 200, start.text);
    const work = (await sup.get('/p/g/api/work')).body.work.find((w: { name: string }) => w.name === 'google-connect');
    assert.equal(work.stage, 'waiting for you to allow access in the Google tab');
    assert.equal(work.limit_ms, 600_000);
    const cancelled = await sup.post('/p/g/api/work/cancel', { name: 'google-connect' });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.deepEqual((await sup.get('/p/g/api/work')).body.work, []);
    const consent = await requestUrl(start.body.auth_url);
    const callback = new URL(consent.headers.location!);
    const late = await sup.get(`${callback.pathname}${callback.search}`);
    assert.equal(late.status, 400, late.text);
    assert.equal(late.body.error, 'invalid_state');
  });

  await t.test('the profile page follows Connect Google in the other tab, also when Google cannot be reached', async () => {
    await network.down();
    const page = await chrome.newPage();
    await page.goto(`${sup.url}/p/g/`);
    await page.waitForSelector('body[data-loaded]');
    const opened = chrome.browser.waitForTarget((target) => target.url().startsWith(`http://localhost:${sup.port}/p/g/api/auth/google/callback`), { timeout: 10_000 });
    await page.click('#google-connect');
    const work = '[data-work="google-connect"]';
    // (the fake Google allows at once: "waiting for you to allow access" lasts no time here)
    const tab = (await (await opened).page())!;
    await tab.waitForSelector('main.landing section.card[data-code="google_unreachable"]');
    await waitForText(page, work, 'Google could not be reached: try again from the Google tab');
    assert.ok(await page.$(`${work} button[data-action="cancel"]`), 'it can be cancelled');
    await network.up();
    await Promise.all([tab.waitForNavigation(), tab.click('main.landing a.button.primary')]);
    await waitForText(page, '#google-ok', 'connected');
    assert.equal(await page.$(work), null, 'the work line is gone');
    // The message comes with the end of the work; the button follows once the page has read the profile again.
    await waitForText(page, '#google-connect', 'Reconnect Google');
    await tab.close();
    await page.close();
  });

  assert.deepEqual(chrome.pageErrors, []);
});

/** A port on which Google's token endpoint is unreachable (nobody listens) until `up()`, which forwards it to
 *  the fake's port: the network coming back. */
async function tokenEndpointNetwork(googlePort: string) {
  const port = await freePort();
  let server: net.Server | null = null;
  const sockets = new Set<net.Socket>();
  return {
    port,
    async up() {
      const forward = net.createServer((socket) => {
        const upstream = net.connect(Number(googlePort), '127.0.0.1');
        sockets.add(socket).add(upstream);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      });
      await new Promise<void>((resolve, reject) => forward.listen(port, '127.0.0.1', resolve).once('error', reject));
      server = forward;
    },
    async down() {
      const s = server;
      server = null;
      if (!s) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await closed;
    },
  };
}
