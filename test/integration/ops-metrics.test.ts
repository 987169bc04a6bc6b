// Prometheus /metrics and /healthz of the supervisor: the numbers move the way the traffic,
// a recycle and a crash say they should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/processes.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import type { Reply } from '../helpers/http.ts';
import { parseMetrics, type Scrape } from '../helpers/ops.ts';

test('metrics follow traffic, a recycle and a crash; /healthz counts workers by state', { timeout: 60_000 }, async (t) => {
  const sup = await startSupervisor({ profiles: ['a', 'b'] });
  t.after(() => sup.cleanup());

  const scrape = async (): Promise<Scrape> => {
    const reply = await sup.get('/metrics');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain/);
    return parseMetrics(reply.text);
  };
  const healthz = async () => {
    const reply = await sup.get('/healthz');
    assert.equal(reply.status, 200, `/healthz answered ${reply.status}: ${reply.text}`);
    assert.equal(reply.body.status, 'ok');
    const counts = reply.body.workers as Record<string, number>;
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      2,
      `/healthz counts every worker once: ${JSON.stringify(counts)}`,
    );
    return counts;
  };

  assert.deepEqual(await healthz(), { ready: 2 });
  const m0 = await scrape();
  // Every metric family the supervisor promises, with its type.
  const families: [string, string][] = [
    ['tat_worker_state', 'gauge'],
    ['tat_worker_restarts_total', 'counter'],
    ['tat_worker_spawn_duration_seconds', 'histogram'],
    ['tat_worker_recycle_duration_seconds', 'histogram'],
    ['tat_proxy_requests_total', 'counter'],
    ['tat_proxy_request_duration_seconds', 'histogram'],
    ['tat_proxy_held_requests', 'gauge'],
    ['process_resident_memory_bytes', 'gauge'],
    ['process_cpu_user_seconds_total', 'counter'],
  ];
  for (const [name, type] of families) assert.equal(m0.types.get(name), type, `# TYPE ${name} ${type}`);
  for (const h of ['a', 'b']) {
    assert.equal(m0.get('tat_worker_state', { handle: h, state: 'ready' }), 1);
    assert.equal(m0.get('tat_worker_state', { handle: h, state: 'starting' }), 0);
    assert.ok(m0.value('tat_worker_spawn_duration_seconds_count', { handle: h }) >= 1, `spawn of ${h} observed`);
  }
  assert.ok(m0.value('process_resident_memory_bytes') > 0);
  assert.equal(m0.get('tat_proxy_held_requests'), 0);

  // ——— traffic ———
  const replies: Reply[] = [];
  for (let i = 0; i < 20; i++) replies.push(await sup.get('/p/a/healthz'));
  for (let i = 0; i < 5; i++) replies.push(await sup.get('/p/a/nope'));
  assert.deepEqual(
    replies.map((r) => r.status),
    [...Array(20).fill(200), ...Array(5).fill(404)],
  );

  // ——— a recycle: /healthz answers all along and shows the worker starting ———
  const restart = sup.post('/supervisor/api/workers/a/restart');
  const seen = new Set<string>();
  await waitFor(
    '/healthz to show a worker starting during the recycle',
    async () => {
      const counts = await healthz();
      for (const [state, n] of Object.entries(counts)) if (n > 0) seen.add(state);
      return (counts.starting ?? 0) >= 1;
    },
    10_000,
  );
  const restarted = await restart;
  assert.equal(restarted.status, 200, restarted.text);
  assert.equal(restarted.body.worker.state, 'ready');
  assert.deepEqual(await healthz(), { ready: 2 });

  // ——— a crash of b: a request sent meanwhile is held (the gauge shows it), then answered ———
  const b = (await sup.worker('b'))!;
  process.kill(b.pid!, 'SIGKILL');
  const held = sup.get('/p/b/healthz');
  // Both are seen while b is down (its backoff, then its start): /healthz first, the cheaper to ask.
  let crashedHealth: Record<string, number> | null = null;
  await waitFor(
    '/healthz to show b not ready, and tat_proxy_held_requests to count the held request',
    async () => {
      const counts = await healthz();
      if ((counts.ready ?? 0) < 2) crashedHealth ??= counts;
      return crashedHealth !== null && (await scrape()).value('tat_proxy_held_requests') >= 1;
    },
    10_000,
  );
  assert.ok((crashedHealth!.ready ?? 0) < 2, `/healthz shows b not ready after its crash: ${JSON.stringify(crashedHealth)}`);
  const heldReply = await held;
  assert.equal(heldReply.status, 200, `the request held through the crash: ${heldReply.text}`);
  assert.equal(heldReply.body.profile, 'b');
  await sup.waitForState('b', 'ready', 15_000, (w) => w.pid !== b.pid);
  assert.deepEqual(await healthz(), { ready: 2 });

  // ——— the numbers moved as they should ———
  const m1 = await scrape();
  const delta = (name: string, labels?: Record<string, string>) => m1.value(name, labels) - m0.value(name, labels);
  assert.ok(delta('tat_proxy_requests_total', { handle: 'a', code: '200' }) >= 20, `a/200 +${delta('tat_proxy_requests_total', { handle: 'a', code: '200' })}`);
  assert.ok(delta('tat_proxy_requests_total', { handle: 'a', code: '404' }) >= 5, `a/404 +${delta('tat_proxy_requests_total', { handle: 'a', code: '404' })}`);
  assert.ok(delta('tat_proxy_requests_total', { handle: 'b', code: '200' }) >= 1, 'the held request of b counted');
  assert.equal(m1.sum('tat_proxy_requests_total', { code: '502' }), 0, 'no request failed with 502');
  assert.equal(m1.sum('tat_proxy_requests_total', { code: '503' }), 0, 'no request failed with 503');
  assert.equal(delta('tat_worker_recycle_duration_seconds_count', { handle: 'a' }), 1, 'one recycle of a');
  assert.ok(delta('tat_worker_recycle_duration_seconds_sum', { handle: 'a' }) > 0, 'the recycle took time');
  assert.equal(delta('tat_worker_recycle_duration_seconds_count', { handle: 'b' }), 0, 'a crash is not a recycle');
  assert.equal(delta('tat_worker_restarts_total', { handle: 'b' }), 1, 'one crash of b');
  assert.equal(delta('tat_worker_restarts_total', { handle: 'a' }), 0, 'a recycle is not a crash');
  assert.equal(delta('tat_worker_spawn_duration_seconds_count', { handle: 'a' }), 1, 'a spawned once more (recycle)');
  assert.equal(delta('tat_worker_spawn_duration_seconds_count', { handle: 'b' }), 1, 'b spawned once more (crash)');
  assert.ok(m1.sum('tat_worker_spawn_duration_seconds_count') - m0.sum('tat_worker_spawn_duration_seconds_count') >= 2, 'spawns counted');
  for (const h of ['a', 'b']) {
    assert.equal(m1.get('tat_worker_state', { handle: h, state: 'ready' }), 1, `${h} ready`);
    for (const state of ['starting', 'draining', 'stopped', 'backoff', 'errored']) {
      assert.equal(m1.get('tat_worker_state', { handle: h, state }), 0, `${h} not ${state}`);
    }
  }
  assert.equal(m1.get('tat_proxy_held_requests'), 0, 'nothing held any more');

  // The latency histogram: cumulative buckets ending in +Inf = count, per handle.
  const count = m1.value('tat_proxy_request_duration_seconds_count', { handle: 'a' });
  assert.ok(count >= 25, `latency count of a: ${count}`);
  assert.equal(m1.get('tat_proxy_request_duration_seconds_bucket', { handle: 'a', le: '+Inf' }), count);
  assert.ok(m1.value('tat_proxy_request_duration_seconds_sum', { handle: 'a' }) > 0);
  const buckets = m1.samples.filter((s) => s.name === 'tat_proxy_request_duration_seconds_bucket' && s.labels.handle === 'a');
  assert.ok(buckets.length > 5, 'several buckets');
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'buckets are cumulative');

  // Default process metrics of prom-client.
  assert.ok(m1.value('process_resident_memory_bytes') > 0);
  assert.ok(m1.get('process_cpu_user_seconds_total') !== undefined);
  assert.ok(m1.get('nodejs_eventloop_lag_seconds') !== undefined);
});
