// What each request and each start costs in CPU time, read from /proc (user + system) around wrk runs: a
// figure a noisy shared machine moves far less than req/s. Beside it, what V8's CPU profiles of the same
// paths say the time goes to.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserStore } from '../shared/access/users.ts';
import { describe, profileOf, summarise } from './cpu-profile.ts';
import { cpuMicros, freePort, getJson, makeConfigDir, median, startSupervisor, startWorkerProcess, waitFor, wrk, type RunningSupervisor, type Row, type Size } from './lib.ts';
import { startBareUndici, startChp, startNginx } from './proxy.ts';
import { runtimeDir, workerSocketPath } from '../supervisor/workers/runtime-dir.ts';

const HANDLE = 'bench';
/** The worker's routes a page polls, or a client reads often. */
const READ_ROUTES = ['/api/profile/current', '/api/profiles', '/api/get-credentials', '/healthz', '/api/browser-status'];

export async function run(size: Size): Promise<Row[]> {
  const full = size === 'full';
  return [...(await perRequest(full)), ...(await perStart(full)), ...(await profiles(full))];
}

interface Target {
  name: string;
  url: (path: string) => string;
  proxyPid: number | null;
  workerPid: number;
  headers?: Record<string, string>;
}

/** CPU µs per request of `pids` over one wrk run at 50 connections. */
async function costOf(url: string, pids: (number | null)[], seconds: number, headers?: Record<string, string>): Promise<(number | null)[]> {
  const before = pids.map((pid) => (pid === null ? 0 : cpuMicros(pid)));
  const result = await wrk(url, { connections: 50, seconds, ...(headers ? { headers } : {}) });
  if (result.failed > 0) throw new Error(`${url}: ${result.failed} of ${result.requests} requests failed`);
  return pids.map((pid, i) => (pid === null ? null : (cpuMicros(pid) - before[i]!) / result.requests));
}

async function perRequest(full: boolean): Promise<Row[]> {
  const seconds = full ? 5 : 1;
  const rounds = full ? 5 : 1;
  const open = await startSupervisor([HANDLE]);
  const cleanups: (() => Promise<void> | void)[] = [() => open.stop()];
  try {
    const signedIn = await supervisorWithSignIn();
    cleanups.push(() => signedIn.sup.stop());
    await Promise.all([open.waitAllReady(1), signedIn.sup.waitAllReady(1)]);
    const worker = await open.worker(HANDLE);
    const signedWorker = await signedIn.sup.worker(HANDLE);
    const directBase = worker.direct_url.replace(/\/$/, '');
    const chp = await startChp(worker.direct_url);
    cleanups.push(chp.stop);
    const nginx = await startNginx(worker.direct_url);
    if (nginx) cleanups.push(nginx.stop);
    const bare = await startBareUndici(workerSocketPath(runtimeDir(open.config.dir, open.port), HANDLE));
    cleanups.push(bare.stop);

    const targets: Target[] = [
      { name: 'direct', url: (p) => `${directBase}${p}`, proxyPid: null, workerPid: worker.pid },
      { name: 'supervisor', url: (p) => `${open.url}/p/${HANDLE}${p}`, proxyPid: open.proc.pid, workerPid: worker.pid },
      { name: 'supervisor, signed in', url: (p) => `${signedIn.sup.url}/p/${HANDLE}${p}`, proxyPid: signedIn.sup.proc.pid, workerPid: signedWorker.pid, headers: { authorization: `Bearer ${signedIn.token}` } },
      { name: 'bare undici proxy', url: (p) => `${bare.url}/p/${HANDLE}${p}`, proxyPid: bare.pid, workerPid: worker.pid },
      { name: 'configurable-http-proxy', url: (p) => `${chp.url}${p}`, proxyPid: chp.pid, workerPid: worker.pid },
      ...(nginx ? [{ name: 'nginx', url: (p: string) => `${nginx.url}${p}`, proxyPid: nginx.pid, workerPid: worker.pid }] : []),
    ];
    const rows: Row[] = [];
    for (const route of ['/healthz', '/api/profile/current']) {
      const proxyCost = new Map<string, number[]>();
      const workerCost = new Map<string, number[]>();
      for (const t of targets) await wrk(t.url(route), { connections: 50, seconds: 1, ...(t.headers ? { headers: t.headers } : {}) }); // warm-up
      for (let round = 0; round < rounds; round++) {
        // Every other round in the reverse order: what runs second in a round (a machine warming up or
        // slowing down within it) is not always the same one of each pair.
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const [proxy, own] = await costOf(t.url(route), [t.proxyPid, t.workerPid], seconds, t.headers);
          if (proxy !== null && proxy !== undefined) proxyCost.set(t.name, [...(proxyCost.get(t.name) ?? []), proxy]);
          workerCost.set(t.name, [...(workerCost.get(t.name) ?? []), own!]);
        }
      }
      const p = (name: string) => median(proxyCost.get(name) ?? [NaN]);
      const shown = targets.filter((t) => t.proxyPid !== null).map((t) => `${t.name} ${p(t.name).toFixed(0)}`).join(' · ');
      const sup = p('supervisor');
      // Paired round by round (the two run one right after the other in each round, in turns first): a drift
      // of the machine between rounds moves both alike, not their difference.
      const signed = proxyCost.get('supervisor, signed in')!;
      const extra = median(proxyCost.get('supervisor')!.map((open, round) => signed[round]! - open));
      rows.push({
        figure: `proxy's own CPU per request, GET /p/<h>${route} (µs)`,
        value: shown,
        target: route === '/healthz' ? 'supervisor ≤ 100' : '',
        met: route === '/healthz' ? sup <= 100 : null,
        note: `median of ${rounds} wrk runs of ${seconds} s at 50 connections`,
      });
      rows.push({ figure: `… signed in (a person's API token) − without sign-in, ${route} (µs)`, value: extra.toFixed(0), target: '≤ 20', met: extra <= 20, note: `median of the ${rounds} rounds' differences` });
      const w = median(workerCost.get('direct')!);
      rows.push({ figure: `worker's CPU per request, GET ${route} (µs)`, value: w.toFixed(0), target: '≤ 100', met: w <= 100, note: `direct; through the supervisor ${median(workerCost.get('supervisor')!).toFixed(0)} µs` });
    }
    for (const route of READ_ROUTES.filter((r) => r !== '/healthz' && r !== '/api/profile/current')) {
      const costs: number[] = [];
      await wrk(`${directBase}${route}`, { connections: 50, seconds: 1 });
      for (let round = 0; round < rounds; round++) costs.push((await costOf(`${directBase}${route}`, [worker.pid], seconds))[0]!);
      const w = median(costs);
      rows.push({ figure: `worker's CPU per request, GET ${route} (µs)`, value: w.toFixed(0), target: '≤ 100', met: w <= 100, note: 'direct' });
    }
    return rows;
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

/** A supervisor with AUTH=local and one person granted the profile, with an API token. */
async function supervisorWithSignIn(): Promise<{ sup: RunningSupervisor; token: string }> {
  const config = await makeConfigDir({ profiles: [HANDLE] });
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: 'bench-Pass-12345', profiles: [HANDLE] });
  const { token } = await users.createToken('lisa', 'bench');
  return { sup: await startSupervisor([], { AUTH: 'local', SUPERVISOR_TOKEN: 'bench-admin-token-0123456789' }, { config }), token };
}

/** A worker alone, started as the supervisor starts one: spawn → it answers, wall time and the CPU time it used by then. */
async function perStart(full: boolean): Promise<Row[]> {
  const config = await makeConfigDir({ profiles: [HANDLE] });
  const wall: number[] = [];
  const cpu: number[] = [];
  try {
    for (let i = 0; i < (full ? 10 : 2); i++) {
      const port = await freePort();
      const t0 = performance.now();
      const proc = startWorkerProcess({ TAT_CONFIG_DIR: config.dir, PORT: String(port), BLAZE_PROFILE: HANDLE });
      try {
        await waitFor('the worker to answer', () => getJson(`http://127.0.0.1:${port}/healthz`).catch(() => null), 20_000);
        wall.push(performance.now() - t0);
        cpu.push(cpuMicros(proc.pid) / 1000);
      } finally {
        await proc.kill();
      }
    }
  } finally {
    await config.remove();
  }
  return [{ figure: 'one worker start, spawn → answers: wall / CPU (ms)', value: `${median(wall).toFixed(0)} / ${median(cpu).toFixed(0)}`, target: '', met: null, note: `median of ${wall.length}; a worker alone, started as the supervisor starts one (its linked entry, its compile cache)` }];
}

/** CPU profiles of each hot path: what the time goes to. Profiling slows what it measures; these are shares. */
async function profiles(full: boolean): Promise<Row[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-bench-prof-'));
  const seconds = full ? 5 : 1;
  const rows: Row[] = [];
  const row = async (what: string, file: string | null, fromMs = 0) => {
    if (!file) throw new Error(`no CPU profile was written for ${what}`);
    const s = await summarise(file, { fromMs });
    rows.push({ figure: `CPU profile: ${what}`, value: `${s.busyMs.toFixed(0)} ms busy`, target: '', met: null, note: describe(s) });
  };
  try {
    const config = await makeConfigDir({ profiles: [HANDLE] });
    try {
      for (const route of ['start', '/healthz', '/api/profile/current']) {
        const port = await freePort();
        const spawned = performance.now();
        let loaded = 0;
        const proc = startWorkerProcess({ TAT_CONFIG_DIR: config.dir, PORT: String(port), BLAZE_PROFILE: HANDLE, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` });
        try {
          await waitFor('the worker to answer', () => getJson(`http://127.0.0.1:${port}/healthz`).catch(() => null), 20_000);
          if (route !== 'start') {
            loaded = performance.now() - spawned;
            await wrk(`http://127.0.0.1:${port}${route}`, { connections: 50, seconds });
          }
          await proc.stop('SIGTERM', 15_000);
        } finally {
          await proc.kill();
        }
        await row(route === 'start' ? 'a worker start (spawn → answers)' : `the worker, GET ${route}`, await profileOf(dir, proc.pid), loaded);
      }
    } finally {
      await config.remove();
    }
    const spawned = performance.now();
    const sup = await startSupervisor([HANDLE], { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` });
    const pid = sup.proc.pid;
    let loaded = 0;
    try {
      await sup.waitAllReady(1);
      loaded = performance.now() - spawned;
      await wrk(`${sup.url}/p/${HANDLE}/healthz`, { connections: 50, seconds });
    } finally {
      await sup.stop();
    }
    await row('the supervisor, GET /p/<h>/healthz', await profileOf(dir, pid), loaded);
    return rows;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
