// Worker pool lifecycle: stable ports across supervisor restarts (ports.json), and the
// desired set followed from the files within 2 s (profile added → worker started, removed → stopped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { isAlive, waitFor } from '../helpers/processes.ts';
import { freePortRange } from '../helpers/ports.ts';
import { request } from '../helpers/http.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

async function getDirect(directUrl: string, path: string) {
  const url = new URL(directUrl);
  return request(Number(url.port), 'GET', path);
}

test('direct ports are stable across a supervisor restart', async (t) => {
  const config = await makeConfigDir({ profiles: ['alpha', 'beta'] });
  const started: { cleanup(): Promise<void> }[] = [];
  t.after(async () => {
    for (const s of started) await s.cleanup();
    await config.remove();
  });

  const first = await startSupervisor({ config, waitReady: ['alpha', 'beta'] });
  started.push(first);
  const before = await first.workers();
  const ports = await config.readJson<Record<string, number>>('ports.json');
  assert.deepEqual({ ...ports }, { alpha: first.basePort, beta: first.basePort + 1 });
  for (const w of before) {
    assert.equal(w.port, ports[w.handle!]);
    assert.equal(w.direct_url, `http://127.0.0.1:${w.port}/`);
    const direct = await getDirect(w.direct_url!, '/api/profile/current');
    assert.equal(direct.status, 200);
    assert.equal(direct.body.handle, w.handle);
  }

  first.proc.child.kill('SIGUSR2'); // the whole system: the next supervisor has another port and runtime folder
  assert.deepEqual(await first.proc.exited(), { code: 0, signal: null });
  await first.cleanup();

  // Another WORKER_BASE_PORT: ports.json, not the base, decides where a known handle listens.
  const second = await startSupervisor({ config, basePort: await freePortRange(4), waitReady: ['alpha', 'beta'] });
  started.push(second);
  const after = await second.workers();
  for (const w of after) {
    assert.equal(w.port, ports[w.handle!], `${w.handle} moved from ${ports[w.handle!]} to ${w.port}`);
    const direct = await getDirect(w.direct_url!, '/healthz');
    assert.equal(direct.status, 200);
    assert.equal(direct.body.profile, w.handle);
  }
  assert.deepEqual(await config.readJson('ports.json'), ports);
});

test('hot add and remove of a profile', async (t) => {
  const sup = await startSupervisor({ profiles: ['alpha'] });
  t.after(() => sup.cleanup());

  // add: credentials first, then the token (as a person copying files would)
  await sup.config.addCredentials('gamma');
  const added = performance.now();
  await sup.config.writeJson('tokens/token_gamma.json', { placeholder: true, handle: 'gamma' });
  // the supervisor's part within 2 s; the worker's own start-up on top
  await sup.waitForStarted('gamma', 2000);
  assert.ok(performance.now() - added < 2000);
  const gamma = await sup.waitForState('gamma', 'ready', 15_000);
  const r = await sup.get('/p/gamma/api/profile/current');
  assert.equal(r.status, 200);
  assert.equal(r.body.handle, 'gamma');
  const ports = await sup.config.readJson<Record<string, number>>('ports.json');
  assert.equal(ports.gamma, gamma.port);

  // remove: deleting the token file stops the worker and drops it from the list
  const alpha = (await sup.worker('alpha'))!;
  await fs.unlink(sup.config.file('tokens/token_gamma.json'));
  await waitFor('gamma to leave the list', async () => !(await sup.worker('gamma')), 2000);
  await waitFor('the gamma process to exit', () => !isAlive(gamma.pid!), 2000);
  const gone = await sup.get('/p/gamma/api/profile/current');
  assert.equal(gone.status, 404);
  assert.equal(gone.body.error, 'profile_not_found');
  // the other worker was not touched
  const alphaAfter = (await sup.worker('alpha'))!;
  assert.equal(alphaAfter.pid, alpha.pid);
  assert.equal(alphaAfter.state, 'ready');

  // removing the credentials file of a profile works the same way
  await sup.config.addProfile('delta');
  await sup.waitForStarted('delta', 2000);
  const delta = await sup.waitForState('delta', 'ready', 15_000);
  await fs.unlink(sup.config.file('google_creds/credentials_delta.json'));
  await waitFor('delta to leave the list', async () => !(await sup.worker('delta')), 2000);
  await waitFor('the delta process to exit', () => !isAlive(delta.pid!), 2000);
});
