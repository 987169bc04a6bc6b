// One reading of a request: every route of both apps (as they are built, so a new route is covered by
// itself) × each identity × each other spelling of its path (case, a trailing slash, `//`, percent-encoded
// letters, `.` and `..` segments, `;params`) and of its body (BOM, duplicate keys, escaped keys, arrays, NUL,
// upper-case or padded handles), against a real supervisor: a spelling gets 404 (or another 4xx), or exactly
// the decision of the canonical request — never a different one — and nothing changes on disk or in the
// workers. The same for AUTH=proxy (the header from a trusted and an untrusted peer) and AUTH=none with
// SUPERVISOR_TOKEN.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type Action, type Asker } from '../../shared/access/access-rules.ts';
import { routesOf } from '../../shared/http/route-access.ts';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';
import { supervisorApp, workerApp } from '../helpers/apps.ts';
import { diffTrees, snapshotTree } from '../helpers/file-trees.ts';
import { request } from '../helpers/http.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

const TOKEN = 'spellings-supervisor-token';
const PASSWORDS = { lisa: 'lisa-Pass-12345', nick: 'nick-Pass-12345', root: 'root-Pass-12345' };

interface Identity {
  name: string;
  headers: Record<string, string>;
  /** Who the rules see (for which canonical requests are refused). */
  asker: Asker;
  from?: string;
}

/** One concrete request of a route: its path as segments (literal or a parameter's value), method, body. */
interface Canonical {
  what: string;
  method: string;
  segments: { text: string; param: boolean }[];
  body?: unknown;
  type?: string;
  /** Whether `identity` may make it, as the rules say (the route's own rule, and the profile's). */
  allowed(asker: Asker): boolean;
}

const owners = new Set(['a', 'b']);
const may = (asker: Asker, action: Action, handle: string | null) => decide(asker, action, handle, (h) => owners.has(h)).allow;

const PARAMS: Record<string, string> = { key: 'k', name: 'lisa', id: 'nope' };
const BODIES: Record<string, unknown> = {
  '/supervisor/api/current': { handle: 'b' },
  '/supervisor/api/users': { name: 'evil', password: 'evil-Pass-12345', admin: true },
  '/supervisor/api/users/:name/password': { password: 'taken-over-12345' },
  '/supervisor/api/users/:name/profiles': { handle: 'b' },
  '/supervisor/api/users/:name/tokens': { label: 'x' },
  '/api/save-profile-credentials': { google_sheet_url: 'https://docs.google.com/spreadsheets/d/spelled' },
  '/api/mis/load-sheet': { spreadsheet_id: 'x' },
  '/api/work/cancel': {},
  '/api/session/:key': { value: 'spelled' },
  '/api/profile/register': { handle: 'b' },
  '/api/profile/switch': { handle: 'b' },
  '/api/profile/delete': { handle: 'b' },
};

function segmentsOf(path: string, fill: (param: string) => string): { text: string; param: boolean }[] {
  return path
    .split('/')
    .slice(1)
    .map((part) => (part.startsWith(':') ? { text: fill(part.slice(1)), param: true } : { text: part, param: false }));
}

/** The canonical requests of every route of both apps: the supervisor's own routes, and each worker route
 *  through `/p/a/` (lisa's), `/p/b/` (nick's) and the unprefixed `/api/…` (lisa's own current, `a`). */
async function canonicalRequests(config: TestConfigDir): Promise<Canonical[]> {
  const out: Canonical[] = [];
  for (const route of routesOf(await supervisorApp(config.dir))) {
    const access = route.access!;
    for (const method of route.methods.filter((m) => m !== 'HEAD')) {
      for (const target of route.path.includes(':handle') ? ['a', 'b'] : [null]) {
        if (route.path === '/auth/login') continue; // its own tests: wrong passwords here would pause sign-in
        const handle = access.handle && typeof access.handle === 'object' && 'body' in access.handle ? 'b' : target;
        out.push({
          what: `${method} ${route.path}${target ? ` (${target})` : ''}`,
          method,
          segments: segmentsOf(route.path, (p) => (p === 'handle' ? target! : PARAMS[p]!)),
          ...(method !== 'GET' && method !== 'DELETE' ? { body: BODIES[route.path] ?? {} } : {}),
          allowed: (asker) => may(asker, access.action, handle),
        });
      }
    }
  }
  for (const route of routesOf(await workerApp(config.dir, 'a'))) {
    const access = route.access!;
    for (const method of route.methods.filter((m) => m !== 'HEAD')) {
      // unprefixed, only /api/… reaches a worker (the rest is the supervisor's own)
      for (const prefix of route.path.startsWith('/api/') ? ['a', 'b', null] : ['a', 'b']) {
        // the profile a named route acts on: `b` (nick's), in its path or its body
        const named = access.handle && typeof access.handle === 'object' ? 'b' : null;
        const own = prefix ?? 'a';
        const segments = segmentsOf(route.path, (p) => (p === 'handle' ? 'b' : PARAMS[p]!));
        const body = method === 'GET' || method === 'DELETE' ? undefined : route.path === '/api/mis/upload-csv' ? 'a,b\n1,2\n' : (BODIES[route.path] ?? {});
        out.push({
          what: `${method} ${prefix ? `/p/${prefix}` : ''}${route.path}`,
          method,
          // the handle of /p/<h>/ is matched as written, not decoded: a literal here
          segments: prefix ? [{ text: 'p', param: false }, { text: prefix, param: false }, ...segments] : segments,
          ...(body !== undefined ? { body } : {}),
          ...(route.path === '/api/mis/upload-csv' ? { type: 'text/csv' } : {}),
          // through the supervisor: may they use the profile the path names (or are they someone, for /api),
          // and what the worker route itself asks
          allowed: (asker) => (prefix ? may(asker, 'use', prefix) : may(asker, 'signed-in', null)) && may(asker, access.action, access.handle === 'own' ? own : named),
        });
      }
    }
  }
  return out;
}

const pathOf = (segments: { text: string }[]) => `/${segments.map((s) => s.text).join('/')}`;
const encodeFirstLetter = (s: string) => s.replace(/[a-z]/i, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Other spellings of a canonical path: `same` ones name the same route (a parameter spelled otherwise)
 *  and must get the canonical decision; the others name no route and must be refused or not found. */
function spellings(c: Canonical): { how: string; path: string; same: boolean }[] {
  const segs = c.segments;
  const literal = segs.map((s, i) => (s.param || !/[a-z]/i.test(s.text) ? -1 : i)).filter((i) => i >= 0);
  const last = literal[literal.length - 1];
  const out: { how: string; path: string; same: boolean }[] = [];
  const edit = (i: number, f: (s: string) => string) => pathOf(segs.map((s, j) => (j === i ? { text: f(s.text) } : s)));
  const path = pathOf(segs);
  if (path !== '/') {
    out.push({ how: 'a trailing slash', path: `${path}/`, same: false });
    out.push({ how: 'a double slash', path: path.replace('/', '//'), same: false });
    out.push({ how: 'a ./ segment', path: pathOf([...segs.slice(0, -1), { text: '.' }, segs[segs.length - 1]!]), same: false });
    out.push({ how: 'an x/../ segment', path: pathOf([...segs.slice(0, -1), { text: 'x' }, { text: '..' }, segs[segs.length - 1]!]), same: false });
    out.push({ how: 'a ;param', path: `${path};x=1`, same: false });
    out.push({ how: 'all upper case', path: path.toUpperCase(), same: false });
  }
  if (last !== undefined) {
    out.push({ how: 'one letter upper case', path: edit(last, (s) => s.charAt(0).toUpperCase() + s.slice(1)), same: false });
    out.push({ how: 'a percent-encoded letter', path: edit(last, encodeFirstLetter), same: false });
    out.push({ how: 'a ;param inside', path: edit(literal[0]!, (s) => `${s};x`), same: false });
  }
  const param = segs.findIndex((s) => s.param && /[a-z]/.test(s.text));
  if (param >= 0) out.push({ how: 'a percent-encoded letter in a parameter', path: edit(param, encodeFirstLetter), same: true });
  return out;
}

/** Other encodings of a body that names a profile: the same handle (refused like it), or no valid body. */
const BODY_SPELLINGS: { how: string; text: (handle: string, other: string) => string }[] = [
  { how: 'a byte-order mark', text: (h) => `\uFEFF{"handle":"${h}"}` },
  { how: 'duplicate keys, the target last', text: (h, o) => `{"handle":"${o}","handle":"${h}"}` },
  { how: 'duplicate keys, the target first', text: (h, o) => `{"handle":"${h}","handle":"${o}"}` },
  { how: 'an escaped key', text: (h) => `{"\\u0068andle":"${h}"}` },
  { how: 'an escaped key beside the plain one', text: (h, o) => `{"handle":"${o}","\\u0068andle":"${h}"}` },
  { how: 'an array', text: (h) => `[{"handle":"${h}"}]` },
  { how: 'a NUL in the handle', text: (h) => `{"handle":"${h}\\u0000"}` },
  { how: 'an upper-case handle', text: (h) => `{"handle":"${h.toUpperCase()}"}` },
  { how: 'a padded handle', text: (h) => `{"handle":"  ${h}\\t"}` },
];

/** Every read once, as an admin, before the first snapshot: a profile's first use writes its session file
 *  (its flags reset at load), which is no change anyone made. */
async function warmUp(sup: RunningSupervisor, canonicals: Canonical[]): Promise<void> {
  for (const c of canonicals.filter((c) => c.method === 'GET')) {
    await request(sup.port, 'GET', pathOf(c.segments), { headers: { authorization: `Bearer ${TOKEN}` }, streamsEndAtHeaders: true, timeoutMs: 20_000 });
  }
}

async function state(sup: RunningSupervisor, config: TestConfigDir) {
  const files = snapshotTree(config.dir);
  files.delete('sign-ins.json');
  return { files, workers: (await sup.workers()).map((w) => `${w.handle}:${w.pid}:${w.state}`).sort() };
}

/** The sweep: for each identity, each canonical request and each spelling. */
async function sweep(sup: RunningSupervisor, config: TestConfigDir, identities: Identity[], canonicals: Canonical[]): Promise<string[]> {
  const problems: string[] = [];
  const send = (method: string, path: string, identity: Identity, body?: unknown, type?: string) =>
    request(sup.port, method, path, {
      headers: { ...identity.headers, ...(type ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      ...(identity.from ? { localAddress: identity.from } : {}),
      streamsEndAtHeaders: true,
      timeoutMs: 20_000,
    });
  const contentType = (c: Canonical) => c.type ?? (c.body !== undefined ? 'application/json' : undefined);
  for (const identity of identities) {
    for (const c of canonicals) {
      const allowed = c.allowed(identity.asker);
      const safe = c.method === 'GET';
      let canonical: number | null = null;
      // A refused canonical request changes nothing, so it is sent; an allowed one only when it is a read.
      if (!allowed || safe) {
        canonical = (await send(c.method, pathOf(c.segments), identity, c.body, contentType(c))).status;
        if (!allowed && canonical !== 401 && canonical !== 403) problems.push(`${identity.name} ${c.what}: ${canonical}, expected a refusal`);
      }
      for (const s of spellings(c)) {
        // A spelling that names the same route would be carried out like the canonical request: only where
        // that changes nothing.
        if (s.same && allowed && !safe) continue;
        const status = (await send(c.method, s.path, identity, c.body, contentType(c))).status;
        const ok = s.same ? status === canonical : status >= 400 && status < 500 && (allowed ? status !== 401 && status !== 403 : true);
        if (!ok) problems.push(`${identity.name} ${c.what} with ${s.how} (${s.path}): ${status}, canonical ${canonical ?? 'not sent'}`);
      }
      const named = typeof c.body === 'object' && c.body !== null && 'handle' in c.body;
      if (named && !allowed) {
        for (const b of BODY_SPELLINGS) {
          const reply = await send(c.method, pathOf(c.segments), identity, b.text('b', 'a'), 'application/json');
          if (reply.status < 400 || reply.status >= 500) problems.push(`${identity.name} ${c.what} with ${b.how}: ${reply.status} ${reply.text.slice(0, 120)}`);
        }
      }
    }
  }
  return problems;
}

/** Every identity, request and spelling decided as the canonical request is; and none of them, refused or
 *  not, changed a file or a worker. */
async function sweepChangingNothing(sup: RunningSupervisor, config: TestConfigDir, identities: Identity[], canonicals: Canonical[]): Promise<void> {
  await warmUp(sup, canonicals);
  const before = await state(sup, config);
  assertNoProblems(await sweep(sup, config, identities, canonicals));
  const after = await state(sup, config);
  assert.deepEqual(diffTrees(before.files, after.files), [], 'the config dir changed');
  assert.deepEqual(after.workers, before.workers, 'a worker changed');
}

/** The requests let through first (a 2xx or 3xx where the canonical one is refused), then the others. */
function assertNoProblems(problems: string[]): void {
  const through = problems.filter((p) => / [23]\d\d(,| )/.test(p));
  const listed = [...through, ...problems.filter((p) => !through.includes(p))].slice(0, 60);
  assert.deepEqual(problems, [], `${problems.length} decisions differ from the canonical request's (${through.length} let through):\n${listed.join('\n')}`);
}

async function signIn(sup: RunningSupervisor, name: keyof typeof PASSWORDS): Promise<string> {
  const reply = await request(sup.port, 'POST', '/auth/login', { body: { username: name, password: PASSWORDS[name] } });
  assert.equal(reply.status, 200, reply.text);
  return String(reply.headers['set-cookie']).split(';')[0]!;
}

async function setUp(t: TestContext, env: Record<string, string>) {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  await config.addCredentials('c'); // a handle nobody registered yet
  await config.writeJson('blaze_configs/blaze_config_b.json', { mis_username: 'nick@mis.example', mis_password: 'nick-mis-secret' });
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: PASSWORDS.lisa, profiles: ['a'] });
  await users.add('nick', { password: PASSWORDS.nick, profiles: ['b'] });
  await users.add('root', { password: PASSWORDS.root, admin: true });
  const { token } = await users.createToken('lisa', 'script');
  // No MIS, Google or Chrome is reached by what is refused; should anything get through, it stays on loopback.
  const sup = await startSupervisor({ config, env: { SUPERVISOR_TOKEN: TOKEN, MIS_URL: 'http://127.0.0.1:9/daily-discount', ...env } });
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  return { config, sup, token, users };
}

const person = (name: string, profiles: string[], admin = false): Asker => ({ kind: 'user', user: { name, admin, profiles }, loopback: true });

test('AUTH=local: every route × anonymous, a person with and without the profile, an admin, a token, SUPERVISOR_TOKEN × every spelling', async (t) => {
  const { config, sup, token } = await setUp(t, { AUTH: 'local' });
  const identities: Identity[] = [
    { name: 'anonymous', headers: {}, asker: { kind: 'anonymous', loopback: true } },
    { name: 'a forged cookie', headers: { cookie: 'tat_session=forged' }, asker: { kind: 'anonymous', loopback: true } },
    { name: 'lisa', headers: { cookie: await signIn(sup, 'lisa') }, asker: person('lisa', ['a']) },
    { name: "lisa's token", headers: { authorization: `Bearer ${token}` }, asker: person('lisa', ['a']) },
    { name: 'root', headers: { cookie: await signIn(sup, 'root') }, asker: person('root', [], true) },
    { name: 'SUPERVISOR_TOKEN', headers: { authorization: `Bearer ${TOKEN}` }, asker: { kind: 'admin-token' } },
  ];
  const canonicals = await canonicalRequests(config);
  assert.ok(canonicals.length > 80, `${canonicals.length} canonical requests`);
  await sweepChangingNothing(sup, config, identities, canonicals);
});

test('AUTH=proxy: the header from the trusted proxy is that person, from any other peer it is nobody', async (t) => {
  const { config, sup } = await setUp(t, { AUTH: 'proxy', TRUSTED_PROXIES: '127.0.0.1' });
  const identities: Identity[] = [
    { name: 'lisa through the proxy', headers: { 'x-forwarded-user': 'lisa' }, asker: person('lisa', ['a']) },
    { name: 'root from an untrusted peer', headers: { 'x-forwarded-user': 'root' }, from: '127.0.0.2', asker: { kind: 'anonymous', loopback: true } },
  ];
  const canonicals = await canonicalRequests(config);
  await sweepChangingNothing(sup, config, identities, canonicals);
});

test('AUTH=none with SUPERVISOR_TOKEN: what manages profiles needs the token, whichever route and spelling', async (t) => {
  const { config, sup } = await setUp(t, { AUTH: 'none' });
  const identities: Identity[] = [{ name: 'this machine without the token', headers: {}, asker: { kind: 'local', loopback: true, tokenRequired: true } }];
  const canonicals = await canonicalRequests(config);
  await sweepChangingNothing(sup, config, identities, canonicals);
});
