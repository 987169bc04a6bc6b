// `next` after signing in, in real Chromium: whatever `/login?next=…` says, the person lands on this site
// (tabs and newlines dropped, backslashes and encoded slashes, `//host`, `javascript:`, another scheme or
// host: none leads away), and a page of this site (a granted profile's page, the logs page with its query)
// is reached exactly. Chromium runs behind a recording proxy that answers nothing: a navigation off
// loopback fails there, and evil.example is never contacted. Plus `safeNext` itself, the module the sign-in
// page runs, checked from node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserStore } from '../../shared/access/users.ts';
import { chromiumAvailability } from '../helpers/chromium.ts';
import { launchBrowser } from '../helpers/e2e.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

const chrome = chromiumAvailability();
const USER = { name: 'lisa', password: 'lisa-Pass-1234' };
const HANDLE = 'lisa.tat';

/** `next` values, each as it stands in the address after `next=` (raw: as given; encoded: the value itself,
 *  percent-encoded), that must not take a person away from this site. */
const HOSTILE: { label: string; query: string }[] = [
  { label: 'raw /%09/evil.example/ (a tab once decoded)', query: '/%09/evil.example/' },
  ...[
    '/\t/evil.example/',
    '/%09/evil.example/',
    '//evil.example/',
    '/\\evil.example/',
    '/%5Cevil.example',
    '/%2F%2Fevil.example',
    '/.//evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    ' /\n/evil.example',
    'http:evil.example',
    '\\\\evil.example/',
    'HTTPS:\\\\evil.example',
  ].map((value) => ({ label: `encoded ${JSON.stringify(value)}`, query: encodeURIComponent(value) })),
  { label: 'raw /%5Cevil.example (a backslash once decoded)', query: '/%5Cevil.example' },
  { label: 'raw /%2F%2Fevil.example (slashes once decoded)', query: '/%2F%2Fevil.example' },
  { label: 'raw //evil.example/', query: '//evil.example/' },
];

/** A proxy that records every request Chromium sends through it and answers none of them usefully: with it
 *  as Chromium's proxy, anything that is not loopback (Chromium bypasses the proxy for loopback itself) goes
 *  nowhere. */
async function startRecordingProxy() {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} (Host: ${req.headers.host})`);
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('off-loopback requests are refused in this test');
  });
  server.on('connect', (req, socket) => {
    seen.push(`CONNECT ${req.url}`);
    socket.on('error', () => {}); // Chromium may reset a tunnel it gave up on
    socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
  });
  server.on('connection', (socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  return {
    seen,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

test('after signing in, next= never leads off this site; a page of this site is reached exactly', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, 'chromium', chrome.available, chrome.reason)) return;
  const proxy = await startRecordingProxy();
  const config = await makeConfigDir({ profiles: [HANDLE] });
  let sup: RunningSupervisor | undefined;
  t.after(async () => {
    await sup?.cleanup();
    await proxy.close();
    await config.remove();
  });
  await new UserStore(config.file('users.json')).add(USER.name, { password: USER.password, profiles: [HANDLE] });
  sup = await startSupervisor({ config, env: { AUTH: 'local', SUPERVISOR_TOKEN: 'next-admin-token-Q81' }, waitReady: [HANDLE] });
  // Chromium's only way off loopback is the recording proxy, and no name is looked up anywhere either.
  const offline = await launchBrowser(t, { args: [`--proxy-server=http://127.0.0.1:${proxy.port}`, '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
  if (!offline) return;
  const origin = new URL(sup.url).origin;

  /** Signs in on `/login?next=<query>` in a fresh context (no cookie from an earlier case); the URL the tab
   *  ends on, and any dialog a script opened. */
  const signInWith = async (query: string) => {
    const context = await offline.browser.createBrowserContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss().catch(() => {});
      });
      await page.goto(`${sup.url}/login?next=${query}`);
      await page.waitForSelector('#login-form');
      await page.type('#username', USER.name);
      await page.type('#password', USER.password);
      const navigated = page.waitForNavigation({ timeout: 15_000 }).then(
        () => null,
        (error: Error) => error.message,
      );
      await page.click('#login-button');
      const stuck = await navigated;
      return { url: page.url(), dialogs, stuck };
    } finally {
      await context.close().catch(() => {});
    }
  };

  // Every case runs, and every one that leads astray is named.
  const astray: string[] = [];
  for (const { label, query } of HOSTILE) {
    const { url, dialogs, stuck } = await signInWith(query);
    let landed: URL | null = null;
    try {
      landed = new URL(url);
    } catch {
      // not a URL: named below
    }
    if (stuck !== null) astray.push(`${label}: signing in led nowhere (still at ${url}: ${stuck})`);
    else if (landed?.origin !== origin) astray.push(`${label}: the tab went to ${url}`);
    else if (landed.pathname === '/login') astray.push(`${label}: still on the sign-in page`);
    if (dialogs.length > 0) astray.push(`${label}: a script ran (${dialogs.join(', ')})`);
  }
  assert.deepEqual(astray, [], `signed in, every next= must stay on ${origin}`);

  for (const target of [`/p/${HANDLE}/`, '/logs?handle=x']) {
    const { url, stuck } = await signInWith(encodeURIComponent(target));
    assert.equal(stuck, null, `${target}: signing in led nowhere (still at ${url})`);
    assert.equal(url, `${sup.url}${target}`, `next=${target} is a page of this site: it is where the person lands`);
  }

  assert.deepEqual(
    proxy.seen.filter((line) => line.includes('evil.example')),
    [],
    'Chromium tried to reach evil.example',
  );
});

test('safeNext (the sign-in page\'s own module): this site\'s pages as absolute URLs, anything else its root', async () => {
  // Imported when the test runs: a tree without the module fails this test only, not the file.
  const modulePath: string = '../../shared/ui/safe-next.js';
  const { safeNext } = (await import(modulePath)) as { safeNext: (value: unknown, origin: string) => string };
  const origin = 'http://127.0.0.1:20417';
  const home = `${origin}/`;
  const cases: [unknown, string][] = [
    ['/\t/evil.example/', home],
    ['/%09/evil.example/', `${origin}/%09/evil.example/`],
    ['//evil.example/', home],
    ['/\\evil.example/', home],
    ['\\\\evil.example/', home],
    ['/%5Cevil.example', `${origin}/%5Cevil.example`],
    ['/%2F%2Fevil.example', `${origin}/%2F%2Fevil.example`],
    ['///evil.example', home],
    ['/.//evil.example', `${origin}//evil.example`],
    ['https://evil.example/', home],
    ['HTTPS:\\\\evil.example', home],
    ['javascript:alert(1)', home],
    [' javascript:alert(1)', home],
    ['data:text/html,<script>alert(1)</script>', home],
    [' /\n/evil.example', home],
    ['http:evil.example', `${origin}/evil.example`],
    ['http://127.0.0.1:20418/', home],
    [`${origin}/admin`, `${origin}/admin`],
    ['/p/lisa.tat/', `${origin}/p/lisa.tat/`],
    ['/logs?handle=x', `${origin}/logs?handle=x`],
    ['/a/../b?c#d', `${origin}/b?c#d`],
    ['', home],
    [null, home],
    [undefined, home],
    [42, home],
    [['/p/x/'], home],
  ];
  for (const [value, expected] of cases) {
    const got = safeNext(value, origin);
    assert.equal(got, expected, `safeNext(${JSON.stringify(value)})`);
    assert.equal(new URL(got).origin, origin, `safeNext(${JSON.stringify(value)}) = ${got} is on this site`);
  }
});
