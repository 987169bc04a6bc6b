// A worker's process lifecycle: loopback only, clean exit on SIGTERM, in-flight requests finished.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { startWorker } from '../helpers/worker.ts';
import { waitFor } from '../helpers/processes.ts';
import { portIsFree } from '../../supervisor/control/port-registry.ts';

// Every bound below is computed from the settings each test gives its worker, plus this slack.
/** What the machine may add to a step no setting times (a signal handled, a log line written, a local
 *  connection answered or refused) on a loaded two-core runner. The only guessed number here. */
const SLACK_MS = 2000;

/** Resolves true when a TCP connection to host:port succeeds, false when it is refused or unroutable. A local
 *  address answers at once, either way: one that has not within the slack counts as not accepting. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(SLACK_MS);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

test('a worker binds 127.0.0.1 only', async (t) => {
  const config = await makeConfigDir({ profiles: ['nick.tat'] });
  const worker = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat' });
  t.after(async () => {
    await worker.kill();
    await config.remove();
  });

  const line = worker.lines.find((l) => typeof l.msg === 'string' && l.msg.includes('listening on'));
  assert.ok(line);
  assert.match(line.msg!, new RegExp(`http://127\\.0\\.0\\.1:${worker.port}\\b`));
  assert.equal(line.port, worker.port);

  assert.equal(await canConnect('127.0.0.1', worker.port), true);
  // every other local address refuses: the IPv6 loopback, and each non-loopback interface
  assert.equal(await canConnect('::1', worker.port), false, '::1 accepted a connection');
  const others = Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal)
    .map((i) => i!.address.split('%')[0]!);
  for (const address of others) {
    assert.equal(await canConnect(address, worker.port), false, `${address} accepted a connection`);
  }
});

test('SIGTERM: the worker exits 0 without waiting for its stop timeout and releases its port', async (t) => {
  // Large: an idle keep-alive connection that held the stop up would make it last STOP_TIMEOUT_MS (and be
  // cut then), which no machine's slowness comes near.
  const STOP_TIMEOUT_MS = 30_000;
  const config = await makeConfigDir({ profiles: ['nick.tat'] });
  const worker = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat', STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) });
  t.after(async () => {
    await worker.kill();
    await config.remove();
  });
  // a keep-alive connection left idle must not hold the stop up
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  await new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: worker.port, path: '/healthz', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });

  const started = performance.now();
  worker.child.kill('SIGTERM');
  const exit = await worker.exited();
  const elapsed = performance.now() - started;
  assert.deepEqual(exit, { code: 0, signal: null });
  // the idle connection did not hold the stop up until the stop timeout
  assert.ok(elapsed < STOP_TIMEOUT_MS, `took ${Math.round(elapsed)} ms: the stop timeout is ${STOP_TIMEOUT_MS} ms`);
  assert.ok(!worker.lines.some((l) => typeof l.msg === 'string' && l.msg.includes('cut at the stop timeout')), 'the idle connection was cut at the stop timeout');
  assert.ok(worker.lines.some((l) => l.msg === 'stopped'));
  assert.equal(await portIsFree(worker.port), true);
});

test('SIGINT stops it the same way', async (t) => {
  const config = await makeConfigDir();
  const worker = await startWorker(config.dir);
  t.after(async () => {
    await worker.kill();
    await config.remove();
  });
  worker.child.kill('SIGINT');
  assert.deepEqual(await worker.exited(), { code: 0, signal: null });
  assert.equal(await portIsFree(worker.port), true);
});

/** Starts a POST whose body is only half sent: an in-flight request the worker cannot finish yet. */
function halfSentRequest(port: number, body: string) {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  let finish!: () => void;
  let sent!: () => void;
  const written = new Promise<void>((resolve) => (sent = resolve));
  const response = new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/save-profile-credentials',
        headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.write(bytes.subarray(0, half), () => sent());
    finish = () => req.end(bytes.subarray(half));
  });
  return { response, written, finish: () => finish() };
}

test('SIGTERM while a request is in flight: the request finishes, then the worker exits 0', async (t) => {
  // Large: the request is finished by the test, each of whose steps takes at most SLACK_MS, never cut by this.
  const STOP_TIMEOUT_MS = 30_000;
  const config = await makeConfigDir({ profiles: ['nick.tat'] });
  const worker = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat', STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) });
  t.after(async () => {
    await worker.kill();
    await config.remove();
  });

  const inFlight = halfSentRequest(worker.port, JSON.stringify({ mis_username: 'finished-after-sigterm' }));
  // headers and half the body are out; a round trip on another connection lets the worker read them
  await inFlight.written;
  await waitFor('the worker to answer', async () => (await worker.get('/healthz')).status === 200, SLACK_MS);
  const signalled = performance.now();
  worker.child.kill('SIGTERM');
  await worker.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('stopping'), SLACK_MS);
  // it stopped accepting new connections (the listener closes as the stop begins)…
  await waitFor('the listener to close', async () => !(await canConnect('127.0.0.1', worker.port)), SLACK_MS);
  // …but is still there for the one in flight, well before the stop timeout could have cut it
  assert.equal(worker.child.exitCode, null);
  assert.ok(performance.now() - signalled < STOP_TIMEOUT_MS, 'the stop timeout ran out before the request was finished');

  inFlight.finish();
  const res = await inFlight.response;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.success, true);
  assert.deepEqual(await worker.exited(), { code: 0, signal: null });
  assert.deepEqual(await config.readJson('blaze_configs/blaze_config_nick.tat.json'), { mis_username: 'finished-after-sigterm' });
  assert.ok(!worker.lines.some((l) => typeof l.msg === 'string' && l.msg.includes('cut at the stop timeout')));
});

test('SIGTERM with a request that never completes: cut at STOP_TIMEOUT_MS, still exit 0', async (t) => {
  const STOP_TIMEOUT_MS = 300;
  const config = await makeConfigDir({ profiles: ['nick.tat'] });
  const worker = await startWorker(config.dir, { BLAZE_PROFILE: 'nick.tat', STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS) });
  t.after(async () => {
    await worker.kill();
    await config.remove();
  });
  const inFlight = halfSentRequest(worker.port, JSON.stringify({ mis_username: 'never-finished' }));
  inFlight.response.catch(() => {}); // the socket is cut: that rejection is expected
  await inFlight.written;
  await waitFor('the worker to answer', async () => (await worker.get('/healthz')).status === 200, SLACK_MS);

  const started = performance.now();
  worker.child.kill('SIGTERM');
  assert.deepEqual(await worker.exited(), { code: 0, signal: null });
  const elapsed = performance.now() - started;
  // The worker's timer starts when the signal arrives, after `started`; timers count whole milliseconds, hence
  // the ceil. Then it exits at once, within the slack.
  assert.ok(Math.ceil(elapsed) >= STOP_TIMEOUT_MS, `exited after ${Math.round(elapsed)} ms, before the stop timeout (${STOP_TIMEOUT_MS} ms)`);
  assert.ok(elapsed < STOP_TIMEOUT_MS + SLACK_MS, `took ${Math.round(elapsed)} ms; bound ${STOP_TIMEOUT_MS + SLACK_MS} ms`);
  assert.ok(worker.lines.some((l) => typeof l.msg === 'string' && l.msg.includes('cut at the stop timeout')));
  await assert.rejects(inFlight.response);
  assert.equal(await config.exists('blaze_configs/blaze_config_nick.tat.json'), false);
});
