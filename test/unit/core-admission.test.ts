// Request admission and the proxy in front of it, in one process: held requests released in arrival order,
// a drain that waits for the last lease, a hold that times out → 503 worker_unavailable with Retry-After,
// and a worker that goes away refusing what it held (docs/architecture.md, "Request admission").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../shared/runtime/logger.ts';
import { Admission, type Lease, type Refusal, type WorkerAccount } from '../../supervisor/proxy/admission.ts';
import { WorkerProxy } from '../../supervisor/proxy/proxy.ts';
import { waitFor } from '../helpers/processes.ts';

function admission(account: Partial<WorkerAccount> = {}) {
  return new Admission({
    name: 'nick.tat',
    handle: 'nick.tat',
    label: '"nick.tat"',
    account: () => ({ state: 'starting', lastExit: null, problem: null, recentLines: () => [], ...account }),
  });
}
const target = new URL('http://127.0.0.1:1');
const isLease = (r: Lease | Refusal): r is Lease => r.ok;

test('held requests are released in arrival order when the worker is ready', async () => {
  const a = admission();
  a.hold();
  assert.equal(a.tryLease(), null, 'no lease while holding');
  const order: number[] = [];
  const held = [1, 2, 3, 4].map((n) => a.acquire(5000).then((r) => (order.push(n), r)));
  assert.equal(a.held, 4);
  a.open(target, 7);
  const leases = await Promise.all(held);
  assert.deepEqual(order, [1, 2, 3, 4]);
  assert.ok(leases.every(isLease));
  assert.ok(leases.every((l) => (l as Lease).generation === 7 && (l as Lease).target === target));
  assert.equal(a.held, 0);
  assert.equal(a.inFlight, 4);
  const lease = leases[0] as Lease;
  lease.release();
  lease.release(); // a second release changes nothing
  assert.equal(a.inFlight, 3);
});

test('drained waits for the last lease to be released, and never longer than its bound', async () => {
  const a = admission();
  a.open(target, 1);
  const one = a.tryLease()!;
  const two = a.tryLease()!;
  let drained = false;
  const draining = a.drained(5000).then(() => (drained = true));
  one.release();
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false, 'one lease is still out');
  two.release();
  await draining;
  assert.equal(drained, true);

  a.tryLease(); // never released: the bound ends the wait
  const started = performance.now();
  await a.drained(50);
  assert.ok(performance.now() - started < 1000);
});

test('a hold that times out is a 503 that says why; a client that leaves is dropped', async () => {
  const a = admission();
  a.hold();
  const refusal = await a.acquire(30);
  assert.ok(!refusal.ok);
  assert.equal(refusal.status, 503);
  assert.equal(refusal.code, 'worker_unavailable');
  assert.match(refusal.message, /the worker for "nick.tat" is not available \(the worker did not become ready within 30 ms\)/);
  assert.equal(refusal.retryAfterSeconds, 2);
  assert.equal(a.held, 0);

  const gone = new AbortController();
  const waiting = a.acquire(5000, gone.signal);
  gone.abort();
  const dropped = await waiting;
  assert.ok(!dropped.ok);
  assert.match(dropped.message, /the client went away/);
  assert.equal(a.held, 0);
});

test('close refuses the held requests and every later one; an errored worker says how to get it back', async () => {
  const lines = ['{"msg":"port 7001 already in use"}'];
  let state = 'starting';
  const a = admission({ lastExit: { code: 75 }, problem: { code: 'port_conflict', message: 'port in use' }, recentLines: () => lines, get state() { return state; } });
  a.hold();
  const held = a.acquire(5000);
  state = 'errored';
  a.close();
  const refusal = await held;
  assert.ok(!refusal.ok);
  assert.equal(refusal.retryAfterSeconds, 30);
  assert.match(refusal.message, /keeps crashing.*POST \/supervisor\/api\/workers\/nick\.tat\/restart/);
  assert.deepEqual(refusal.extra, { handle: 'nick.tat', state: 'errored', last_exit: { code: 75 }, problem: { code: 'port_conflict', message: 'port in use' }, last_log_lines: lines });
  const later = await a.acquire(5000);
  assert.ok(!later.ok, 'no hold once closed');
});

test('a request refused by a dying process waits for the next generation', async () => {
  const a = admission();
  a.open(target, 3);
  let settled = false;
  const retry = a.acquire(5000, undefined, 3).then((r) => ((settled = true), r));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'generation 3 refused the connection: not that one again');
  a.hold();
  a.open(target, 4);
  const lease = await retry;
  assert.ok(isLease(lease));
  assert.equal(lease.generation, 4);
});

// ——— the proxy in front of an admission, over real loopback HTTP in this process ———

async function listening(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function get(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
      })
      .on('error', reject);
  });
}

test('proxy: a held request is answered once the worker is ready; a hold that times out is 503 with Retry-After', async (t) => {
  const worker = http.createServer((req, res) => res.end(JSON.stringify({ path: req.url, prefix: req.headers['x-forwarded-prefix'] ?? null })));
  const workerPort = await listening(worker);
  const a = admission();
  a.hold();
  const proxy = new WorkerProxy({ log: createLogger({ level: 'silent' }), holdTimeoutMs: 300, upstreamTimeoutMs: 5000, proxyHeader: 'x-forwarded-user' });
  const front = http.createServer((req, res) => proxy.forward({ req, res, worker: a, path: req.url!.replace(/^\/p\/nick\.tat/, ''), prefix: '/p/nick.tat' }));
  const frontPort = await listening(front);
  t.after(() => {
    front.close();
    worker.close();
  });

  const timedOut = await get(frontPort, '/p/nick.tat/healthz');
  assert.equal(timedOut.status, 503);
  assert.equal(timedOut.body.error, 'worker_unavailable');
  assert.equal(timedOut.headers['retry-after'], '2');
  assert.match(timedOut.body.message, /did not become ready within 300 ms/);

  const held = get(frontPort, '/p/nick.tat/api/profile/current?x=1');
  await waitFor('the request to be held', () => a.held === 1);
  a.open(new URL(`http://127.0.0.1:${workerPort}`), 1);
  const answered = await held;
  assert.equal(answered.status, 200);
  assert.deepEqual(answered.body, { path: '/api/profile/current?x=1', prefix: '/p/nick.tat' });
  assert.equal(a.inFlight, 0, 'the lease is released when the response ends');
});
