// Streams through the supervisor: Server-Sent Events reach the client unbuffered (each event within 50 ms
// of the worker writing it), a WebSocket upgrade to /p/<h>/ works, and when either side of a WebSocket goes
// away both sockets are freed; an open stream never holds a recycle up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor } from '../helpers/processes.ts';
import { socketCount } from '../helpers/process-measures.ts';
import { startSupervisor, type RunningSupervisor } from '../helpers/supervisor.ts';

interface Received {
  event: { type: string; at: number; [key: string]: unknown };
  /** Date.now() when the client had it. */
  receivedAt: number;
}

/** Opens an SSE stream; collects events as they arrive. */
function openEvents(sup: RunningSupervisor, path: string) {
  const received: Received[] = [];
  let response: http.IncomingMessage | null = null;
  const request = http.get({ host: '127.0.0.1', port: sup.port, path, headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
    response = res;
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      const now = Date.now();
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data) received.push({ event: JSON.parse(data.slice(6)), receivedAt: now });
      }
    });
  });
  request.on('error', () => {});
  return {
    received,
    response: () => response,
    ended: () => new Promise<void>((resolve) => (response ? response.once('close', resolve) : request.once('close', resolve))),
    close: () => request.destroy(),
  };
}

test('Server-Sent Events through the supervisor: headers at once, every event within 50 ms of the worker writing it', async (t) => {
  const sup = await startSupervisor({ profiles: ['a'] });
  t.after(() => sup.cleanup());
  const stream = openEvents(sup, '/p/a/api/events');
  t.after(() => stream.close());
  await waitFor('the first event', () => stream.received.length >= 1, 5000);
  const res = stream.response()!;
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  assert.equal(stream.received[0]!.event.type, 'status');

  // Each close of the (not running) browser is an automation that starts and ends: two events each.
  for (let i = 0; i < 5; i++) assert.equal((await sup.post('/p/a/api/browser/close')).status, 200);
  await waitFor('the automation events', () => stream.received.filter((r) => r.event.type === 'automation').length >= 10, 5000);
  // Buffering would hold events back until a buffer fills or the stream ends: seconds, or never. On two cores
  // shared with the rest of the suite one event may wait for a busy core, so the bound is on the median,
  // and every event within 250 ms.
  const lags = stream.received.map((r) => r.receivedAt - r.event.at);
  const median = [...lags].sort((a, b) => a - b)[Math.floor(lags.length / 2)]!;
  assert.ok(median <= 50 && Math.max(...lags) <= 250, `event lags (ms): ${lags.join(', ')}`);
  const automation = stream.received.filter((r) => r.event.type === 'automation').map((r) => r.event.running);
  assert.deepEqual(automation.slice(0, 2), ['browser-close', null]);
});

test('an open event stream does not hold a recycle up; the stream ends, the worker comes back', async (t) => {
  const STOP_TIMEOUT_MS = 8000;
  const sup = await startSupervisor({ profiles: ['a'], env: { STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) } });
  t.after(() => sup.cleanup());
  const stream = openEvents(sup, '/p/a/api/events');
  t.after(() => stream.close());
  await waitFor('the first event', () => stream.received.length >= 1, 5000);
  const before = (await sup.worker('a'))!;
  const ended = stream.ended();
  const started = performance.now();
  const restart = await sup.post('/supervisor/api/workers/a/restart');
  const took = performance.now() - started;
  assert.equal(restart.status, 200, restart.text);
  assert.ok(took < STOP_TIMEOUT_MS / 2, `the restart took ${Math.round(took)} ms: it waited for the stream`);
  await ended;
  const after = await sup.waitForState('a', 'ready', 10_000, (w) => w.pid !== before.pid);
  assert.equal(after.in_flight, 0);
});

test('a WebSocket to /p/<h>/api/events through the supervisor; a client or a worker that goes away frees both sockets', async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  t.after(() => sup.cleanup());
  const worker = (await sup.worker('a'))!;
  // one request each first: the supervisor's pooled connection to each worker is part of the baseline
  for (const h of ['a', 'b']) assert.equal((await sup.get(`/p/${h}/healthz`)).status, 200);
  const baseline = { supervisor: socketCount(sup.proc.pid), worker: socketCount(worker.pid!) };

  const open = (path: string) =>
    new Promise<{ ws: WebSocket; first: any }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${sup.port}${path}`);
      ws.addEventListener('message', (m) => resolve({ ws, first: JSON.parse(String(m.data)) }), { once: true });
      ws.addEventListener('error', () => reject(new Error(`WebSocket ${path} failed`)), { once: true });
    });

  const { ws, first } = await open('/p/a/api/events');
  assert.equal(first.type, 'status');
  assert.ok(socketCount(sup.proc.pid) >= baseline.supervisor + 1, 'the WebSocket holds sockets while open');
  const events: any[] = [];
  ws.addEventListener('message', (m) => events.push(JSON.parse(String(m.data))));
  assert.equal((await sup.post('/p/a/api/browser/close')).status, 200);
  await waitFor('the automation events over the WebSocket', () => events.filter((e) => e.type === 'automation').length >= 2, 5000);

  // the client goes away: both of the supervisor's sockets and the worker's go
  ws.close();
  await waitFor('the sockets of the closed WebSocket to go', () => socketCount(sup.proc.pid) <= baseline.supervisor && socketCount(worker.pid!) <= baseline.worker, 5000);

  // the worker goes away: the client's WebSocket is closed, and the supervisor keeps no socket of it
  const second = await open('/p/b/api/events');
  const bWorker = (await sup.worker('b'))!;
  const closed = new Promise<void>((resolve) => second.ws.addEventListener('close', () => resolve(), { once: true }));
  process.kill(bWorker.pid!, 'SIGKILL');
  await closed;
  await waitFor('the supervisor to free the sockets of the dead worker', () => socketCount(sup.proc.pid) <= baseline.supervisor, 5000);

  // an upgrade of anything but a profile's route is refused
  await assert.rejects(open('/supervisor/api/workers'));
});
