// A bounded, deterministic fuzz of the supervisor's front door (AUTH=local): raw request lines and headers
// over `net` sockets to 127.0.0.1, built by a seeded PRNG from real routes that act on another person's
// profile (`b`, granted to nick), on people (/supervisor/api/users…) or on the supervisor's workers, bent in
// every way a parser or a router could read differently from the gate: control characters and invalid
// UTF-8 in the target and header values, absolute-form targets, duplicate Host, Transfer-Encoding with
// Content-Length, odd methods and versions, over-long lines, mixed case and percent-encoding, bodies with a
// BOM or the key twice, sent as nobody, as lisa (granted `a` only), with a forged cookie or a wrong bearer.
// None of them may get a 2xx, the supervisor never exits, every request is answered or closed within a
// bound, the config dir (but sign-ins.json) is byte for byte the same, and worker `b` is the same process.
// FUZZ_SEED=<n> replays another sequence; FUZZ_REQUESTS=<n> (at most 3000) changes the count; FUZZ_DEBUG=1
// prints every exchange answered 5xx or not at all (FUZZ_DEBUG=all: every exchange).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { isRunning } from '../helpers/processes.ts';
import { request } from '../helpers/http.ts';
import { rawExchange } from '../helpers/raw-http.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2026);
const REQUESTS = Math.min(3000, Number(process.env.FUZZ_REQUESTS ?? 3000));
const BATCH = 60;
const CONCURRENCY = 10;
/** Longer than anything the supervisor may legitimately wait for: headers (10 s) or a body (BODY_TIMEOUT_MS). */
const ANSWER_BOUND_MS = 15_000;
const BODY_TIMEOUT_MS = 3000;
const SUPERVISOR_TOKEN = 'fuzz-admin-token-Qm4x8Lr2';
const PASSWORDS = { lisa: 'lisa-fuzz-pass-91', nick: 'nick-fuzz-pass-27' };

// ——— a seeded PRNG (mulberry32) ———

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)]!;
    },
  };
}
type Rng = ReturnType<typeof prng>;

// ——— what is sent ———

/** A real route. `forbidden`: nobody but an admin may get a 2xx from it (it acts on b, on people or on the
 *  supervisor's workers); the others are lisa's own read-only routes, to show her cookie works. */
interface Base {
  method: string;
  path: string;
  body?: Record<string, unknown>;
  forbidden: boolean;
}

const FORBIDDEN: Base[] = [
  { method: 'GET', path: '/supervisor/api/users', forbidden: true },
  { method: 'POST', path: '/supervisor/api/users', body: { name: 'mallory', password: 'mallory-pass-123', admin: true, profiles: ['b'] }, forbidden: true },
  { method: 'DELETE', path: '/supervisor/api/users/nick', forbidden: true },
  { method: 'POST', path: '/supervisor/api/users/lisa/profiles', body: { handle: 'b' }, forbidden: true },
  { method: 'DELETE', path: '/supervisor/api/users/nick/profiles/b', forbidden: true },
  { method: 'POST', path: '/supervisor/api/users/nick/password', body: { password: 'taken-over-123' }, forbidden: true },
  { method: 'POST', path: '/supervisor/api/users/lisa/tokens', body: { label: 'fuzz' }, forbidden: true },
  { method: 'POST', path: '/supervisor/api/workers/b/stop', forbidden: true },
  { method: 'POST', path: '/supervisor/api/workers/b/restart', forbidden: true },
  { method: 'POST', path: '/supervisor/api/workers/b/start', forbidden: true },
  { method: 'GET', path: '/supervisor/api/workers/b', forbidden: true },
  { method: 'GET', path: '/supervisor/api/workers/b/logs', forbidden: true },
  { method: 'POST', path: '/supervisor/api/current', body: { handle: 'b' }, forbidden: true },
  { method: 'DELETE', path: '/supervisor/api/profiles/b', forbidden: true },
  { method: 'POST', path: '/api/profile/delete', body: { handle: 'b' }, forbidden: true },
  { method: 'POST', path: '/p/a/api/profile/delete', body: { handle: 'b' }, forbidden: true },
  { method: 'POST', path: '/api/profile/switch', body: { handle: 'b' }, forbidden: true },
  { method: 'POST', path: '/p/a/api/profile/register', body: { handle: 'b' }, forbidden: true },
  { method: 'GET', path: '/api/profile/check-credentials/b', forbidden: true },
  { method: 'GET', path: '/p/b/api/session', forbidden: true },
  { method: 'PUT', path: '/p/b/api/session/x', body: { value: 'fuzz' }, forbidden: true },
  { method: 'DELETE', path: '/p/b/api/session', forbidden: true },
  { method: 'GET', path: '/p/b/api/get-credentials', forbidden: true },
  { method: 'GET', path: '/p/b/healthz', forbidden: true },
  { method: 'POST', path: '/p/b/api/profile/delete', body: { handle: 'b' }, forbidden: true },
];

/** Lisa's own, read-only: a 2xx here is expected (from her) and proves the harness signs her in. */
const CONTROL: Base[] = [
  { method: 'GET', path: '/auth/me', forbidden: false },
  { method: 'GET', path: '/p/a/healthz', forbidden: false },
  { method: 'GET', path: '/p/a/api/session', forbidden: false },
  { method: 'GET', path: '/api/profile/current', forbidden: false },
  { method: 'GET', path: '/supervisor/api/workers', forbidden: false },
];

type IdentityKind = 'none' | 'lisa' | 'forged-cookie' | 'wrong-bearer' | 'lisa+wrong-bearer' | 'forged+lisa-cookie' | 'lisa-cookie-renamed';

interface Generated {
  index: number;
  base: Base;
  identity: IdentityKind;
  /** The request line's method as sent (a 2xx to OPTIONS acts on nothing: it lists the methods). */
  method: string;
  clean: boolean;
  bytes: Buffer;
}

const CONTROL_BYTES = ['\x00', '\x01', '\x08', '\x09', '\x0b', '\x0c', '\x1b', '\x7f', '\x80', '\xff', '\xc0\xaf', '\xed\xa0\x80', '\xfe', '%00', '%c0%ae', '\r', '\n', ' '];
const ODD_METHODS = ['PATCH', 'PUT', 'DELETE', 'POST', 'GET', 'HEAD', 'OPTIONS', 'PROPFIND', 'PURGE', 'TRACE', 'MKCOL', 'M-SEARCH', 'get', 'Post', 'DELETE ', 'G\x00ET', 'POST\t', 'X'.repeat(80), 'CONNECT', 'QUERY', 'LINK'];
const VERSIONS = ['HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 extra', 'HTTP/1.10', ''];

/** `s` in latin1 (every character one byte), from a UTF-8 string. */
const bytesOf = (utf8: string) => Buffer.from(utf8, 'utf8').toString('latin1');

function mutatePath(rng: Rng, path: string, port: number): string {
  let p = path;
  const rounds = rng.int(4);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(13)) {
      case 0: {
        // one letter in another case
        const letters = [...p].map((c, i) => (/[a-z]/i.test(c) ? i : -1)).filter((i) => i >= 0);
        if (letters.length) {
          const i = rng.pick(letters);
          p = p.slice(0, i) + (p[i] === p[i]!.toUpperCase() ? p[i]!.toLowerCase() : p[i]!.toUpperCase()) + p.slice(i + 1);
        }
        break;
      }
      case 1: {
        // a whole segment in capitals
        const parts = p.split('/');
        const i = 1 + rng.int(Math.max(1, parts.length - 1));
        if (parts[i] !== undefined) parts[i] = parts[i]!.toUpperCase();
        p = parts.join('/');
        break;
      }
      case 2: {
        // one character percent-encoded, in either case of hex
        const i = rng.int(p.length);
        const hex = p.charCodeAt(i).toString(16).padStart(2, '0');
        p = `${p.slice(0, i)}%${rng.chance(0.5) ? hex.toUpperCase() : hex}${p.slice(i + 1)}`;
        break;
      }
      case 3:
        // other spellings of b, never another valid handle ("b.", "b.json" are other people's to register)
        p = p.replace(/\/b(\/|$)/, (_, end: string) => `/${rng.pick(['%62', '%42', 'B', 'b..', '.b', 'b%2f', 'b%00', 'b;x', 'b%20', '%20b', 'b%09', 'ｂ'])}${end}`);
        break;
      case 4: {
        const slashes = [...p].map((c, i) => (c === '/' ? i : -1)).filter((i) => i >= 0);
        const i = rng.pick(slashes);
        p = p.slice(0, i) + rng.pick(['//', '/./', '/%2e/', '/.//', '\\']) + p.slice(i + 1);
        break;
      }
      case 5:
        p += rng.pick(['/', '//', '/.', '?', '?x=1', '?handle=a', '#frag', ';x', '%20', '%2f', '..', '/..']);
        break;
      case 6: {
        const i = 1 + rng.int(p.length);
        p = p.slice(0, i) + rng.pick(CONTROL_BYTES) + p.slice(i);
        break;
      }
      case 7:
        p = p.replace(/^\/(supervisor|api|p)\b/, (_, s: string) => `/${s.toUpperCase()}`);
        break;
      case 8:
        p = p.replace('/api/', rng.pick(['/API/', '/Api/', '/%61pi/', '/api%2f', '/api;/', '/api/./']));
        break;
      case 9:
        p = p.replace(/(stop|restart|start|users|profiles|session|delete|switch|register|current)/, (w) => rng.pick([w.toUpperCase(), `${w[0]!.toUpperCase()}${w.slice(1)}`, `${w}/`, `${w}%2F`, `%${w.charCodeAt(0).toString(16)}${w.slice(1)}`]));
        break;
      case 10:
        p = `${p}${bytesOf(rng.pick(['é', '\u202e', '\ufeff', '\u0000', '𝐛']))}`;
        break;
      case 11:
        if (rng.chance(0.3)) p = `${p}/${'a'.repeat(17_000)}`;
        else if (rng.chance(0.3)) p = `${p}?${'q'.repeat(20_000)}`;
        break;
      case 12:
        p = p.replace(/^\//, rng.pick(['//', '/./', '/../', '///']));
        break;
    }
  }
  if (rng.chance(0.12)) {
    const host = rng.pick([`127.0.0.1:${port}`, `localhost:${port}`, '127.0.0.1', 'evil.example', `[::1]:${port}`, `127.0.0.1:${port}@evil.example`]);
    p = `${rng.pick(['http', 'HTTP', 'https', 'ws'])}://${host}${p}`;
  } else if (rng.chance(0.01)) p = '*';
  return p;
}

/** The body of a route that takes one, in one of many spellings; each names `b` somewhere. */
function bodyOf(rng: Rng, body: Record<string, unknown>): string {
  const json = JSON.stringify(body);
  const named = 'handle' in body;
  const variants: (() => string)[] = [
    () => json,
    () => bytesOf(`\ufeff${json}`),
    () => `\xef\xbb\xbf\xef\xbb\xbf${json}`,
    () => (named ? '{"handle":"a","handle":"b"}' : `${json.slice(0, -1)},${json.slice(1)}`),
    () => (named ? '{"handle":"b","handle":"a"}' : json),
    () => (named ? '{"handle":"b","\\u0068andle":"a"}' : json),
    () => (named ? '{"\\u0068andle":"a","handle":"b"}' : json),
    () => (named ? '{"handle":"\\u0062"}' : json),
    () => (named ? rng.pick(['{"handle":"B"}', '{"handle":" b"}', '{"handle":"b\\u0000"}', '{"handle":["b"]}', '{"handle":{"handle":"b"}}', '{"Handle":"a","handle":"b"}']) : json),
    () => (named ? '{"handle":"b\xff"}' : `${json.slice(0, -1)},"x":"\xff"}`),
    () => Buffer.from(`\ufeff${json}`, 'utf16le').toString('latin1'),
    () => `${json}\x00`,
    () => `  \r\n${json}\r\n  `,
    () => (named ? 'handle=b' : json),
    () => `[${json}]`,
  ];
  return rng.chance(0.35) ? json : rng.pick(variants)();
}

function identityHeaders(identity: IdentityKind, lisaCookie: string, rng: Rng): string[] {
  const forged = `tat_session=${Buffer.from(Array.from({ length: 24 }, () => rng.int(256))).toString('base64url')}`;
  const bearer = `Authorization: ${rng.pick(['Bearer tat_' + 'x'.repeat(43), `Bearer ${SUPERVISOR_TOKEN}x`, `Bearer ${SUPERVISOR_TOKEN.slice(1)}`, 'Bearer', `Basic ${Buffer.from('lisa:' + PASSWORDS.lisa).toString('base64')}`, 'Bearer \x00'])}`;
  switch (identity) {
    case 'none':
      return [];
    case 'lisa':
      return [`Cookie: ${lisaCookie}`];
    case 'forged-cookie':
      return [`Cookie: ${forged}`];
    case 'wrong-bearer':
      return [bearer];
    case 'lisa+wrong-bearer':
      return [`Cookie: ${lisaCookie}`, bearer];
    case 'forged+lisa-cookie':
      return [`Cookie: ${forged}; ${lisaCookie}`];
    case 'lisa-cookie-renamed':
      return [`Cookie: ${lisaCookie.replace('tat_session', rng.pick(['TAT_SESSION', 'tat_session ', 'tat-session', ' tat_session']))}`];
  }
}

function generate(rng: Rng, index: number, port: number, lisaCookie: string): Generated {
  const base = rng.chance(0.12) ? rng.pick(CONTROL) : rng.pick(FORBIDDEN);
  const identity: IdentityKind = rng.pick(['none', 'lisa', 'lisa', 'lisa', 'forged-cookie', 'wrong-bearer', 'lisa+wrong-bearer', 'forged+lisa-cookie', 'lisa-cookie-renamed', 'none']);
  const clean = rng.chance(0.1);
  const eol = !clean && rng.chance(0.04) ? '\n' : '\r\n';
  let method = base.method;
  // Lisa's own routes keep a safe method: another one could change her own profile, which is hers to do.
  if (!clean && base.forbidden && rng.chance(0.15)) method = rng.pick(ODD_METHODS);
  const target = clean ? base.path : mutatePath(rng, base.path, port);
  const version = !clean && rng.chance(0.06) ? rng.pick(VERSIONS) : 'HTTP/1.1';
  const line = version ? `${method} ${target} ${version}` : `${method} ${target}`;

  const headers: string[] = [];
  const hostLine = `Host: 127.0.0.1:${port}`;
  if (clean || rng.chance(0.75)) headers.push(hostLine);
  else {
    headers.push(
      ...rng.pick([
        [hostLine, 'Host: evil.example'],
        ['Host: evil.example', hostLine],
        [hostLine, hostLine],
        [`Host: localhost:${port}`],
        ['Host: '],
        [],
        [`Host: 127.0.0.1:${port}\x00evil`],
        [`host: 127.0.0.1:${port}`, `HOST: 127.0.0.1:${port}`],
        [`Host: 127.0.0.1:${port}, evil.example`],
        [`Host:\t127.0.0.1:${port}`],
        [`Host : 127.0.0.1:${port}`],
      ]),
    );
  }
  headers.push(...identityHeaders(identity, lisaCookie, rng));
  if (!clean) {
    const noise = rng.int(4);
    for (let i = 0; i < noise; i++) {
      headers.push(
        rng.pick([
          'X-Forwarded-User: nick',
          'X-Forwarded-User: admin',
          'X-Tat-User: nick',
          'X-Tat-Grants: *',
          'X-Tat-Internal: 0123456789abcdef',
          'X-Forwarded-For: 127.0.0.1',
          'X-Forwarded-For: 203.0.113.9',
          'X-Forwarded-Prefix: /p/b',
          'X-Original-URL: /supervisor/api/users',
          'X-Rewrite-URL: /supervisor/api/workers/b/stop',
          'X-HTTP-Method-Override: DELETE',
          `Origin: http://127.0.0.1:${port}`,
          'Origin: http://evil.example',
          'Origin: null',
          'Accept: text/html',
          'Accept: */*',
          `Referer: http://127.0.0.1:${port}/admin`,
          `X-Junk: ${rng.pick(CONTROL_BYTES)}value${rng.pick(CONTROL_BYTES)}`,
          `X-Bin: \x80\x81\xfe\xff\xc3\x28`,
          `Cookie: ${rng.pick(['a=b', 'tat_session=', 'tat_session="x"', '\xff=\xff'])}`,
          `X-Long: ${'L'.repeat(rng.chance(0.5) ? 20_000 : 4_000)}`,
          `X-Tab:\tvalue\t`,
          ' X-Folded: continuation',
          'Bad Header: space in name',
          ':empty-name',
          'X-NoColon',
        ]),
      );
    }
  }
  headers.push(clean || rng.chance(0.85) ? 'Connection: close' : rng.pick(['Connection: keep-alive', 'Connection: Upgrade', 'Connection: close, close', 'Connection: \x00']));

  // The body, framed honestly (Content-Length, or chunked) or with an ambiguous frame the parser must refuse.
  let body = '';
  const sendsBody = base.body !== undefined ? !rng.chance(0.05) : !clean && rng.chance(0.1);
  if (sendsBody) {
    body = base.body ? (clean ? JSON.stringify(base.body) : bodyOf(rng, base.body)) : '{"handle":"b"}';
    const type = clean
      ? 'application/json'
      : rng.pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/json, text/plain', '', 'application/json\x00']);
    if (type) headers.push(`Content-Type: ${type}`);
    const framing = clean ? 'length' : rng.pick(['length', 'length', 'length', 'length', 'length', 'length', 'chunked', 'chunked', 'te+cl', 'cl+te', 'two-cl', 'cl-short', 'te-variant']);
    const chunked = () => {
      let out = '';
      for (let at = 0; at < body.length; ) {
        const size = 1 + rng.int(Math.max(1, body.length - at));
        out += `${size.toString(16)}${rng.chance(0.2) ? ';ext=1' : ''}\r\n${body.slice(at, at + size)}\r\n`;
        at += size;
      }
      return `${out}0\r\n\r\n`;
    };
    switch (framing) {
      case 'length':
        headers.push(`Content-Length: ${body.length}`);
        break;
      case 'chunked':
        headers.push('Transfer-Encoding: chunked');
        body = chunked();
        break;
      case 'te+cl':
        headers.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`);
        body = chunked();
        break;
      case 'cl+te':
        headers.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
        break;
      case 'two-cl':
        headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + rng.int(3)}`);
        break;
      case 'cl-short':
        headers.push(`Content-Length: ${Math.max(0, body.length - 1 - rng.int(4))}`);
        break;
      case 'te-variant':
        headers.push(`Transfer-Encoding: ${rng.pick(['Chunked', 'chunked, chunked', ' chunked', 'chunked\x0b', 'xchunked', 'gzip, chunked', 'identity, chunked'])}`);
        body = chunked();
        break;
    }
  } else if (!clean && rng.chance(0.03)) {
    headers.push('Transfer-Encoding: chunked', 'Content-Length: 0');
    body = '0\r\n\r\n';
  }
  const text = `${line}${eol}${headers.join(eol)}${eol}${eol}${body}`;
  return { index, base, identity, method, clean, bytes: Buffer.from(text, 'latin1') };
}

// ——— one exchange on a fresh socket ———

interface Answer {
  status: number | null;
  /** Closed by the server without an answer, or a socket error. */
  closed: boolean;
  /** Neither answered nor closed within the bound. */
  hung: boolean;
  head: string;
  ms: number;
}

async function exchange(port: number, bytes: Buffer, method: string): Promise<Answer> {
  const a = await rawExchange(port, bytes, { timeoutMs: ANSWER_BOUND_MS, method });
  return { status: a.status, closed: a.status === null && !a.timedOut, hung: a.timedOut, head: a.raw.slice(0, 300), ms: a.ms };
}

function describe(g: Generated, a: Answer): string {
  const shown = JSON.stringify(g.bytes.subarray(0, 400).toString('latin1'));
  return `#${g.index} [${g.identity}${g.clean ? ', clean' : ''}] base ${g.base.method} ${g.base.path} → ${a.hung ? 'HUNG' : a.status ?? 'closed'} (${Math.round(a.ms)} ms)\n    sent: ${shown}${g.bytes.length > 400 ? ` … (${g.bytes.length} bytes)` : ''}\n    got: ${JSON.stringify(a.head.slice(0, 200))}`;
}

test('fuzzed requests from lisa and from nobody never act on b, on people or on the workers', { timeout: 240_000 }, async (t) => {
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: PASSWORDS.lisa, profiles: ['a'] });
  await users.add('nick', { password: PASSWORDS.nick, profiles: ['b'] });
  const sup = await startSupervisor({ config, env: { AUTH: 'local', SUPERVISOR_TOKEN, BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS), LOG_LEVEL: 'info' }, waitReady: ['a', 'b'] });
  t.after(async () => {
    await sup.cleanup();
    await config.remove();
  });
  const alive = () => sup.proc.child.exitCode === null && sup.proc.child.signalCode === null && isRunning(sup.proc.pid);

  const login = await request(sup.port, 'POST', '/auth/login', { body: { username: 'lisa', password: PASSWORDS.lisa } });
  assert.equal(login.status, 200, login.text);
  const lisaCookie = String(login.headers['set-cookie']).split(';')[0]!;
  assert.match(lisaCookie, /^tat_session=\S+$/);
  // The two identities behave as they should before the fuzz: lisa may use a, not b; nobody may use either.
  assert.equal((await request(sup.port, 'GET', '/auth/me', { headers: { cookie: lisaCookie } })).body.username, 'lisa');
  assert.equal((await request(sup.port, 'GET', '/p/a/api/session', { headers: { cookie: lisaCookie } })).status, 200);
  assert.equal((await request(sup.port, 'GET', '/p/b/api/session', { headers: { cookie: lisaCookie } })).status, 403);
  assert.equal((await request(sup.port, 'GET', '/p/b/api/session')).status, 401);

  const before = await config.snapshot();
  const workersBefore = new Map((await sup.workers()).map((w) => [w.handle!, w.pid]));
  assert.ok(workersBefore.get('b'), 'worker b runs');

  const rng = prng(SEED);
  const all = Array.from({ length: REQUESTS }, (_, i) => generate(rng, i, sup.port, lisaCookie));
  const offending: string[] = [];
  const hung: string[] = [];
  const controlOk: string[] = [];
  const optionsAnswers: string[] = [];
  const statuses = new Map<string, number>();
  const started = performance.now();
  for (let from = 0; from < all.length; from += BATCH) {
    const batch = all.slice(from, from + BATCH);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batch.length) {
          const g = batch[next++]!;
          const a = await exchange(sup.port, g.bytes, g.method);
          const key = a.hung ? 'hung' : a.status === null ? 'closed' : String(a.status);
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (a.hung) hung.push(describe(g, a));
          if (process.env.FUZZ_DEBUG && (a.status === null || a.status >= 500 || (process.env.FUZZ_DEBUG === 'all'))) console.log(describe(g, a));
          const twoxx = a.status !== null && a.status >= 200 && a.status < 300;
          if (twoxx && g.base.forbidden) {
            if (g.method === 'OPTIONS') optionsAnswers.push(describe(g, a));
            else offending.push(describe(g, a));
          }
          if (twoxx && !g.base.forbidden && g.identity === 'lisa') controlOk.push(`${g.base.path}`);
        }
      }),
    );
    assert.ok(alive(), `the supervisor exited during batch ${from / BATCH} (requests ${from}–${from + batch.length - 1}):\n${sup.proc.output().slice(-3000)}`);
    // Stop early once it is clear: the first offenders are what the message shows.
    if (offending.length >= 20 || hung.length >= 10) break;
  }
  const elapsed = performance.now() - started;
  t.diagnostic(`seed ${SEED}: ${all.length} requests in ${(elapsed / 1000).toFixed(1)} s; answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  if (optionsAnswers.length) t.diagnostic(`${optionsAnswers.length} OPTIONS requests to forbidden routes got a 2xx (the list of methods; nothing acted on)`);

  assert.equal(offending.length, 0, `${offending.length} requests from lisa or nobody got a 2xx from a route that acts on b, on people or on the workers (seed ${SEED}); the first:\n${offending.slice(0, 20).join('\n')}`);
  assert.equal(hung.length, 0, `${hung.length} requests were neither answered nor closed within ${ANSWER_BOUND_MS} ms (seed ${SEED}); the first:\n${hung.slice(0, 10).join('\n')}`);
  assert.ok(controlOk.length > 0, "no request with lisa's cookie to her own routes got a 2xx: the fuzz never reached the gate as her");

  // Nothing changed: the config dir (but the sign-ins), the workers, and the supervisor still answers.
  assert.ok(alive(), 'the supervisor is still running');
  const after = await config.snapshot();
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => !/^sign-ins\.json/.test(k) && before.get(k) !== after.get(k)).sort();
  assert.deepEqual(changed, [], `the config dir changed: ${changed.join(', ')}`);
  const workersAfter = new Map((await sup.workers()).map((w) => [w.handle!, w.pid]));
  assert.equal(workersAfter.get('b'), workersBefore.get('b'), 'worker b was restarted or stopped');
  assert.equal(workersAfter.get('a'), workersBefore.get('a'), 'worker a was restarted or stopped');
  assert.equal((await sup.worker('b'))!.state, 'ready');
  const health = await request(sup.port, 'GET', '/healthz', { timeoutMs: 5000 });
  assert.equal(health.status, 200, health.text);
  assert.equal((await request(sup.port, 'GET', '/auth/me', { headers: { cookie: lisaCookie } })).body.username, 'lisa', "lisa's sign-in survived");
});
