// Redis stopped and started again under load, with SESSION_BACKEND=redis and the whole system running:
// while it is down, session requests get 503 session_unavailable and everything else answers 200;
// a worker recycled during the outage starts and serves; afterwards everything recovers by itself, and no
// write that was acknowledged is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/processes.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { redisAvailability, startRedis } from '../helpers/redis.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { Evidence } from '../helpers/evidence.ts';
import { blazeConfigWithSecrets } from '../helpers/secrets.ts';
import { client } from '../helpers/http.ts';
import { describeSamples, runClients, type RequestSpec, type Sample } from '../helpers/load.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';

const redisCheck = redisAvailability();
const HANDLES = ['r1', 'r2', 'r3'];

test('Redis stopped and restarted under load: 503 session_unavailable while down, full recovery, no acknowledged write lost', async (t) => {
  if (!requireIntegration(t, 'redis-server', redisCheck.available, redisCheck.reason)) return;
  const ev = new Evidence();
  const redis = await startRedis();
  const config = await makeConfigDir({ profiles: HANDLES });
  for (const h of HANDLES) await config.writeJson(`blaze_configs/blaze_config_${h}.json`, blazeConfigWithSecrets(`${h}@mis.example`));
  const sup = await startSupervisor({
    config,
    profiles: HANDLES,
    env: { SESSION_BACKEND: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: 'tat_rel:', REDIS_TTL: '3600' },
  });
  ev.watch('supervisor output', () => sup.proc.output());
  t.after(async () => {
    await sup.cleanup();
    await redis.close();
    await config.remove();
  });
  const api = client(sup.port, { record: ev });

  /** Every write attempt per session key, in order (each loop writes its own keys, one at a time). A 503
   *  write may still have reached Redis (the connection dropped after sending it), so the stored value must
   *  be the last acknowledged one or one attempted after it. */
  const attempts = new Map<string, { value: number; ok: boolean }[]>();
  let acks = 0;
  /** Profiles that refused a session write of the load with 503 session_unavailable while Redis was down. */
  const refusedBy = new Set<string>();
  type Phase = 'up' | 'down' | 'recovering';
  let phase = 'up' as Phase;
  let n = 0;
  let running = true;
  t.after(() => {
    running = false;
  });
  const next = (loop: number): RequestSpec => {
    const i = n++;
    const handle = HANDLES[i % HANDLES.length]!;
    const kind = i % 5;
    if (kind === 0 || kind === 1) {
      const key = `l${loop}-${i % 30}`;
      return {
        method: 'PUT',
        path: `/p/${handle}/api/session/${key}`,
        handle,
        body: { value: i },
        onReply: (r) => {
          const id = `${handle}:${key}`;
          attempts.set(id, [...(attempts.get(id) ?? []), { value: i, ok: r.status === 200 }]);
          if (r.status === 200) acks += 1;
          if (phase === 'down' && r.status === 503 && r.body?.error === 'session_unavailable') refusedBy.add(handle);
        },
      };
    }
    if (kind === 2) return { method: 'GET', path: `/p/${handle}/api/session`, handle };
    if (kind === 3) return { method: 'GET', path: `/p/${handle}/api/get-credentials`, handle };
    return { method: 'GET', path: i % 2 ? '/api/profile/current' : `/p/${handle}/healthz`, handle };
  };
  const phaseOf = new Map<Sample['spec'], Phase>();
  const load = runClients(sup.port, {
    concurrency: 6,
    running: () => running,
    ev,
    next: (loop) => {
      const spec = next(loop);
      phaseOf.set(spec, phase);
      return spec;
    },
  });
  const okWrites = () => acks;
  const t0 = performance.now();

  await waitFor('writes to be acknowledged', () => okWrites() >= 60, 10_000);
  phase = 'down';
  const stopAt = performance.now(); // from here on a session request may be refused (those in flight too)
  await redis.stop({ save: true }); // Redis keeps what it acknowledged; the workers must not claim more
  const downAt = performance.now();
  // every worker has noticed: each has refused a session write of the load
  await waitFor('every profile to refuse session writes', () => refusedBy.size === HANDLES.length, 10_000);
  // a worker started while Redis is down comes up and serves what does not need the session
  assert.equal((await api.post('/supervisor/api/workers/r2/restart')).status, 200);
  assert.equal((await api.get('/p/r2/api/get-credentials')).body.mis_username, 'r2@mis.example');
  const refused = await api.put('/p/r2/api/session/while-down', { value: 1 });
  assert.equal(refused.status, 503, refused.text);
  assert.equal(refused.body.error, 'session_unavailable');
  assert.match(refused.body.message, /redis/i);
  // Redis stays down for at least 2.5 s of traffic: a duration, not a wait
  await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (performance.now() - downAt))));

  await redis.start();
  phase = 'recovering';
  const upAt = performance.now();
  // recovered: writes to every profile are acknowledged again, without any restart
  const afterUp = new Map<string, number>();
  await waitFor(
    'every profile to accept session writes again',
    async () => {
      for (const h of HANDLES) {
        if (afterUp.has(h)) continue;
        const r = await api.put(`/p/${h}/api/session/probe`, { value: h });
        if (r.status === 200) afterUp.set(h, performance.now() - upAt);
      }
      return afterUp.size === HANDLES.length;
    },
    10_000,
  );
  const recoveredAt = performance.now(); // every request that starts from here on must succeed
  const settledAt = okWrites();
  await waitFor('more acknowledged writes after recovery', () => okWrites() >= settledAt + 60, 10_000);
  running = false;
  const samples = await load;

  // while Redis was down: session requests 503 session_unavailable, everything else 200; up: all 200
  const sessionRoute = (s: Sample) => /\/api\/session/.test(s.spec.path);
  const bad = samples.filter((s) => {
    if (s.status === 200) return false;
    if (s.status === 503 && sessionRoute(s) && s.body?.error === 'session_unavailable' && s.end >= stopAt && s.start < recoveredAt) return false;
    return true;
  });
  assert.deepEqual(bad.length, 0, `unexpected answers:\n${describeSamples(bad)}\nphases: ${bad.map((s) => `${phaseOf.get(s.spec)} ${Math.round(s.start - t0)}-${Math.round(s.end - t0)}`)} stopped at ${Math.round(stopAt - t0)}`);
  const down = samples.filter((s) => phaseOf.get(s.spec) === 'down');
  assert.ok(down.some((s) => s.status === 503), 'some session requests were refused while Redis was down');
  assert.ok(down.filter((s) => !sessionRoute(s)).length > 10, 'other requests were answered while Redis was down');
  assert.ok(down.filter((s) => !sessionRoute(s)).every((s) => s.status === 200));

  // nothing acknowledged is lost: through the API and in Redis itself
  const raw = redis.client();
  const sessions = new Map<string, Record<string, unknown>>();
  for (const h of HANDLES) {
    const session = await api.get(`/p/${h}/api/session`);
    assert.equal(session.status, 200);
    sessions.set(h, session.body.values);
  }
  let checked = 0;
  for (const [id, list] of attempts) {
    const lastOk = list.map((a) => a.ok).lastIndexOf(true);
    if (lastOk === -1) continue;
    const allowed = list.slice(lastOk).map((a) => a.value);
    const [handle, key] = id.split(':') as [string, string];
    const stored = Number(await raw.get(`tat_rel:${handle}:${key}`));
    assert.ok(allowed.includes(stored), `${id}: acknowledged ${list[lastOk]!.value}, Redis holds ${stored}`);
    assert.ok(allowed.includes(sessions.get(handle)![key] as number), `${id}: acknowledged ${list[lastOk]!.value}, the API shows ${sessions.get(handle)![key]}`);
    checked += 1;
  }
  assert.ok(checked >= 30, `only ${checked} keys checked`);
  // no worker needed a restart to recover (r2 was restarted on purpose once)
  for (const w of await sup.workers()) {
    assert.equal(w.state, 'ready');
    assert.equal(w.restarts, 0);
  }
  assert.ok(
    sup.proc.lines.some((l) => /redis session store unreachable/.test(String(l.msg))),
    'the outage is in the log',
  );
  ev.assertClean();
});
