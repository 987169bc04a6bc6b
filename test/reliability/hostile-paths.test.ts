// Hostile request lines and headers, sent over raw sockets exactly as written (fetch and http.request
// would normalise them): dot segments, encoded dots and slashes, wrong case, double slashes, bad
// percent-encoding, NUL bytes, absolute-form targets, a 16 KiB URL, 1 MiB of headers, smuggling attempts.
// Each gets a clear 4xx; no file outside the config dir is touched, the config dir itself does not change,
// and no request reaches a worker other than the one its prefix names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { parseMetrics } from '../helpers/ops.ts';
import { Evidence } from '../helpers/evidence.ts';
import { blazeConfigWithSecrets, realTokenFile } from '../helpers/secrets.ts';
import { client } from '../helpers/http.ts';
import { diffTrees, snapshotTree } from '../helpers/file-trees.ts';
import { jsonOf, rawExchange } from '../helpers/raw-http.ts';

const req = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`;

/** Hostile targets: `reaches` is the one worker that may see the request (its own prefix), if any. */
const TARGETS: { target: string; reaches?: string; status?: number }[] = [
  { target: '/p/../' },
  { target: '/p/..' },
  { target: '/p/../p/other/healthz' },
  { target: '/p/./other/healthz' },
  { target: '/p/%2e%2e/' },
  { target: '/p/%2E%2E/other/healthz' },
  { target: '/p/.%2e/other/healthz' },
  { target: '/p/nick.tat/../other/', reaches: 'nick.tat' },
  { target: '/p/nick.tat/../other/healthz', reaches: 'nick.tat' },
  { target: '/p/nick.tat/%2e%2e/other/healthz', reaches: 'nick.tat' },
  { target: '/p/nick.tat/..%2fother%2fhealthz', reaches: 'nick.tat' },
  { target: '/p/nick.tat/..%5cother%5chealthz', reaches: 'nick.tat' },
  { target: '/p/nick.tat/..\\other\\healthz', reaches: 'nick.tat' },
  { target: '/p/nick.tat/../../../../../../etc/passwd', reaches: 'nick.tat' },
  { target: '/p/nick.tat/assets/..%2f..%2f..%2f..%2fetc%2fpasswd', reaches: 'nick.tat' },
  { target: '/p/nick.tat/api/profile/check-credentials/..%2f..%2fcanary', reaches: 'nick.tat' },
  { target: '/p/nick.tat/api/profile/check-credentials/..', reaches: 'nick.tat' },
  { target: '/p/nick.tat/api/session/..%2f..%2f..%2fcanary', reaches: 'nick.tat' },
  { target: '/p/NICK.TAT/' },
  { target: '/p/NICK.TAT/healthz' },
  { target: '/p/Nick.Tat/api/profile/current' },
  { target: '/p/nick.tat.' },
  { target: '/p/.nick.tat/' },
  { target: '/p//other/healthz' },
  { target: '//p/other/healthz' },
  { target: '///p/other/healthz' },
  { target: '/p/nick.tat//healthz', reaches: 'nick.tat' },
  { target: '/p/nick.tat//api//profile//current', reaches: 'nick.tat' },
  { target: '/p/other%2fhealthz' },
  { target: '/p/other%2F..%2Fnick.tat/' },
  { target: '/p/other%00/healthz' },
  { target: '/p/nick.tat%00/' },
  { target: '/p/nick.tat;other/healthz' },
  { target: '/p/%ZZ/' },
  { target: '/%ZZ' },
  { target: '/p/nick.tat/api/profile/check-credentials/%E0%A4%A', reaches: 'nick.tat' },
  { target: '/p/nick.tat/api/profile/check-credentials/%', reaches: 'nick.tat' },
  { target: '/p/nick.tat/api/session/%C0%AE%C0%AE', reaches: 'nick.tat' },
  { target: '/supervisor/api/workers/..%2fother' },
  { target: '/supervisor/api/workers/%2e%2e' },
  { target: '/supervisor/api/workers/..' },
  { target: '/supervisor/api/workers/other%00' },
  { target: '/supervisor/api/workers/%E0%A4%A' },
  { target: '/api/../p/other/healthz', reaches: 'nick.tat' },
  { target: '/api/%2e%2e/p/other/healthz', reaches: 'nick.tat' },
  { target: '/api/..%2f..%2fp%2fother%2fhealthz', reaches: 'nick.tat' },
  { target: '/../../etc/passwd' },
  { target: '/assets/..%2f..%2fpackage.json' },
  { target: 'http://127.0.0.1/p/other/healthz' },
  { target: 'http://other/p/other/healthz' },
  { target: '*' },
  { target: `/p/nick.tat/${'a'.repeat(16 * 1024)}`, status: 431 },
  { target: `/p/other/healthz?${'x'.repeat(16 * 1024)}`, status: 431 },
];

/** Whole hostile requests (not just targets), for the parser and the size limits. */
const REQUESTS: { what: string; data: string | string[]; status?: number }[] = [
  { what: '1 MiB of headers to /p/other/', status: 431, data: [`GET /p/other/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n`, `X-Big: ${'b'.repeat(1024 * 1024)}\r\n\r\n`] },
  { what: '4000 headers to /p/other/', status: 431, data: `GET /p/other/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 4000 }, (_, i) => `X-H${i}: ${i}\r\n`).join('')}\r\n` },
  {
    what: 'CL + TE smuggling a request to other',
    data: `POST /p/nick.tat/api/profile/current HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /p/other/healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
  },
  {
    what: 'two Content-Lengths',
    data: `POST /p/nick.tat/api/profile/switch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}`,
  },
  { what: 'a space in the method', data: 'GE T /p/other/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' },
  { what: 'a NUL in a header', data: 'GET /p/nick.tat/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\u0000b\r\n\r\n' },
  { what: 'a bare LF request line with a space in the target', data: 'GET /p/other/health z HTTP/1.1\nHost: 127.0.0.1\n\n' },
  { what: 'garbage', data: '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003 TLS hello to a plain port\r\n\r\n' },
];

test('hostile paths and headers: clear 4xx, no file touched, no other profile reached', async (t) => {
  const ev = new Evidence();
  // the config dir inside a sandbox of our own, beside decoys a traversal would land on
  const sandbox = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-rel-sandbox-'));
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = sandbox;
  const config = await makeConfigDir({ profiles: ['nick.tat', 'other', 'third'] });
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  assert.equal(path.dirname(config.dir), sandbox);
  await config.writeJson('tokens/token_other.json', realTokenFile('other'));
  await config.writeJson('blaze_configs/blaze_config_other.json', blazeConfigWithSecrets('other@mis.example'));
  await fs.writeFile(path.join(sandbox, 'canary'), 'canary\n');
  await fs.writeFile(path.join(sandbox, 'canary.json'), '{"canary": true}\n');
  await fs.mkdir(path.join(sandbox, 'tokens'));
  await fs.writeFile(path.join(sandbox, 'tokens', 'token_other.json'), '{"placeholder": true, "handle": "other"}\n');

  const sup = await startSupervisor({ config, profiles: ['nick.tat', 'other', 'third'] });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await fs.rm(sandbox, { recursive: true, force: true });
  });
  const api = client(sup.port, { record: ev });
  assert.equal((await api.get('/api/profile/current')).body.handle, 'nick.tat');
  const outside = () => new Map([...snapshotTree(sandbox)].filter(([k]) => !k.startsWith(`${path.basename(config.dir)}/`) && k !== `${path.basename(config.dir)}/`));
  const outsideBefore = outside();
  const insideBefore = snapshotTree(config.dir);
  const proxied = async () => parseMetrics((await api.get('/metrics')).text);
  const before = await proxied();
  const workersBefore = await sup.workers();

  const failures: string[] = [];
  const reachedNick = { expected: 0 };
  for (const { target, reaches, status } of TARGETS) {
    const r = await rawExchange(sup.port, req(target), { record: ev, what: `GET ${target.slice(0, 80)}` });
    if (reaches) reachedNick.expected += 1;
    const body = jsonOf(r);
    const label = `GET ${target.slice(0, 100)} → ${r.status ?? r.error}`;
    if (status && r.status !== status) failures.push(`${label}: expected ${status}`);
    if (r.status === null || r.status < 400 || r.status >= 500) failures.push(`${label}: not a 4xx ${r.raw.slice(0, 200)}`);
    else if (body === null || body.success !== false || typeof body.error !== 'string' || typeof body.message !== 'string') {
      // every answer, the HTTP parser's refusals included, is JSON with a code and a sentence
      failures.push(`${label}: not a JSON error: ${r.body.slice(0, 200)}`);
    }
    if (body && (body.profile === 'other' || body.handle === 'other' || body.profile === 'third')) failures.push(`${label}: answered by another profile: ${r.body.slice(0, 200)}`);
  }
  for (const { what, data, status } of REQUESTS) {
    const r = await rawExchange(sup.port, data, { record: ev, what });
    const label = `${what} → ${r.status ?? r.error}`;
    if (r.status === null || r.status < 400 || r.status >= 500) failures.push(`${label}: not a 4xx ${r.raw.slice(0, 200)}`);
    if (status && r.status !== status) failures.push(`${label}: expected ${status}`);
    const body = jsonOf(r);
    if (r.status !== null && (body === null || body.success !== false || typeof body.message !== 'string')) failures.push(`${label}: not a JSON error: ${r.raw.slice(0, 200)}`);
    if (/"profile":"other"/.test(r.raw)) failures.push(`${label}: reached other`);
  }
  assert.deepEqual(failures, [], failures.join('\n'));

  // no request reached a worker its prefix did not name: other and third saw nothing
  const after = await proxied();
  for (const h of ['other', 'third']) {
    assert.equal(after.sum('tat_proxy_requests_total', { handle: h }), before.sum('tat_proxy_requests_total', { handle: h }), `a request reached ${h}`);
  }
  const nickCount = after.sum('tat_proxy_requests_total', { handle: 'nick.tat' }) - before.sum('tat_proxy_requests_total', { handle: 'nick.tat' });
  assert.ok(nickCount <= reachedNick.expected + 1, `nick.tat got ${nickCount} requests, ${reachedNick.expected} expected`);

  // nothing on disk changed, inside or outside the config dir; every worker is the same process, still serving
  assert.deepEqual(diffTrees(outsideBefore, outside()), [], 'files outside the config dir');
  assert.deepEqual(diffTrees(insideBefore, snapshotTree(config.dir)), [], 'files inside the config dir');
  const workersAfter = await sup.workers();
  for (const w of workersBefore) {
    const now = workersAfter.find((x) => x.handle === w.handle)!;
    assert.equal(now.pid, w.pid, `${w.handle} was restarted`);
    assert.equal(now.state, 'ready');
  }
  for (const h of ['nick.tat', 'other', 'third']) {
    const r = await api.get(`/p/${h}/api/profile/current`);
    assert.equal(r.status, 200);
    assert.equal(r.body.handle, h);
  }
  ev.assertClean();
});
