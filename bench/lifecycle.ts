import { execa } from 'execa';
import { PROJECT_ROOT } from '../shared/profiles/paths.ts';
import { supervisedWorkerArgs } from '../test/helpers/processes.ts';
import { spareWorkerOf } from '../test/helpers/process-table.ts';
import { makeConfigDir, freePort, getJson, load, mb, median, memoryOf, startSupervisor, supervisedWorkerEnv, waitFor, wrk, type Row, type Size } from './lib.ts';

const handles = (n: number) => Array.from({ length: n }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
/** A worker gives memory back once it has been quiet this long (worker/memory-trim.ts), plus a margin. */
const QUIET_MS = 3000;
/** A switch of the guide's /api to `handle`: ms until /api/profile/current answers it. */
async function timedSwitch(url: string, handle: string): Promise<number> {
  const t0 = performance.now();
  await getJson(`${url}/api/profile/switch`, { method: 'POST', body: JSON.stringify({ handle }), headers: { 'content-type': 'application/json' } });
  await waitFor('the switch', async () => (await getJson(`${url}/api/profile/current`)).handle === handle, 10_000);
  return performance.now() - t0;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)); // a measured duration, not a wait for a condition

/** Worker start, cold start, memory, idle stop and start on demand, switch, recycle under load, healing. */
export async function run(size: Size): Promise<Row[]> {
  const full = size === 'full';
  return [...(await workerStart(full)), ...(await coldStartAndMemory(full)), ...(await idleStop(full)), ...(await switchRecycleHeal(full))];
}

/** Spawn to `ready`, the way the supervisor spawns: the worker's linked entry, its compile cache, IPC. */
async function workerStart(full: boolean): Promise<Row[]> {
  const config = await makeConfigDir({ profiles: ['start'] });
  const times: number[] = [];
  try {
    for (let i = 0; i < (full ? 20 : 3); i++) {
      const port = await freePort();
      const t0 = performance.now();
      const child = execa(process.execPath, supervisedWorkerArgs(), {
        cwd: PROJECT_ROOT,
        env: supervisedWorkerEnv({ TAT_CONFIG_DIR: config.dir, PORT: String(port), BLAZE_PROFILE: 'start' }),
        extendEnv: false,
        ipc: true,
        serialization: 'json',
        stdin: 'ignore',
        stdout: 'ignore',
        stderr: 'ignore',
        reject: false,
      });
      await child.getOneMessage({ filter: (message) => (message as { type?: string }).type === 'ready' });
      times.push(performance.now() - t0);
      child.kill('SIGKILL');
      await child;
    }
  } finally {
    await config.remove();
  }
  const m = median(times);
  return [{ figure: `worker start, spawn → ready (median of ${times.length}, ms)`, value: m.toFixed(0), target: '≤ 200', met: m <= 200, note: `min ${Math.min(...times).toFixed(0)} ms` }];
}

async function coldStartAndMemory(full: boolean): Promise<Row[]> {
  const count = full ? 20 : 3;
  const colds: number[] = [];
  let memoryRows: Row[] = [];
  for (let round = 0; round < (full ? 3 : 1); round++) {
    const t0 = performance.now();
    const sup = await startSupervisor(handles(count));
    try {
      await sup.waitAllReady(count, 60_000);
      colds.push(performance.now() - t0);
      if (round === 0) {
        // Idle after a little traffic each, then measured.
        for (const h of handles(count)) await getJson(`${sup.url}/p/${h}/api/profile/current`);
        await sleep(QUIET_MS);
        const workers = await sup.workers();
        const mem = workers.map((w) => memoryOf(w.pid));
        const supMem = memoryOf(sup.proc.pid);
        const rss = median(mem.map((m) => m.rss));
        const pss = median(mem.map((m) => m.pss));
        memoryRows = [
          { figure: `idle worker RSS (median of ${count})`, value: mb(rss), target: '≤ 70 MB', met: rss <= 70 * 2 ** 20, note: `PSS ${mb(pss)}: RSS counts the Node binary's code, shared by every worker, once per worker` },
          { figure: `supervisor RSS with ${count} workers`, value: mb(supMem.rss), target: '≤ 90 MB', met: supMem.rss <= 90 * 2 ** 20, note: `PSS ${mb(supMem.pss)}` },
          { figure: `all ${count} workers + supervisor, PSS total`, value: mb(mem.reduce((a, m) => a + m.pss, 0) + supMem.pss), target: '', met: null },
        ];
        // A load through the supervisor, then quiet: what it grew must be given back.
        await wrk(`${sup.url}/p/${handles(count)[0]}/healthz`, { connections: 50, seconds: full ? 15 : 2 });
        const during = memoryOf(sup.proc.pid).rss;
        await sleep(QUIET_MS);
        const after = memoryOf(sup.proc.pid).rss;
        memoryRows.push({ figure: 'supervisor RSS after a load ends', value: mb(after), target: '≤ 10 MB above before it', met: after - supMem.rss <= 10 * 2 ** 20, note: `${mb(during)} at the load's end; ${full ? 15 : 2} s of wrk at 50 connections` });
      }
    } finally {
      await sup.stop();
    }
  }
  const cold = median(colds);
  return [{ figure: `cold start, supervisor with ${count} profiles → all ready (ms)`, value: cold.toFixed(0), target: '≤ 3000', met: cold <= 3000, note: `median of ${colds.length}` }, ...memoryRows];
}

/** IDLE_TIMEOUT_MS: the first request to a worker stopped for being idle, and the memory of a supervisor whose
 *  profiles are mostly not in use. */
async function idleStop(full: boolean): Promise<Row[]> {
  const count = full ? 20 : 3;
  const idleMs = 1500;
  const names = handles(count);
  const sup = await startSupervisor(names, { IDLE_TIMEOUT_MS: String(idleMs) });
  const rows: Row[] = [];
  try {
    await sup.waitAllReady(1);
    // First requests to idle-stopped workers: each is started once, left to go idle, then asked again.
    const sample = names.slice(1, full ? 11 : 3);
    for (const h of sample) await getJson(`${sup.url}/p/${h}/healthz`);
    await waitFor('the sampled workers to be stopped for being idle', async () => (await sup.workers()).filter((w) => sample.includes(w.handle) && w.state === 'idle').length === sample.length, 60_000);
    // Each woken the way a person wakes one (a spare waiting, loaded), then all of them one after another (each
    // wake takes the spare; the next finds its replacement still loading).
    let failed = 0;
    const wake = async (h: string, into: number[]) => {
      const t0 = performance.now();
      await getJson(`${sup.url}/p/${h}/api/profile/current`).catch(() => (failed += 1));
      into.push(performance.now() - t0);
    };
    const firsts: number[] = [];
    const inARow: number[] = [];
    for (const h of sample) {
      await waitFor('a spare worker to wait for a profile', () => spareWorkerOf(sup.proc.pid) !== null, 30_000);
      await wake(h, firsts);
    }
    await waitFor('the sampled workers to be stopped for being idle again', async () => (await sup.workers()).filter((w) => sample.includes(w.handle) && w.state === 'idle').length === sample.length, 60_000);
    await waitFor('a spare worker to wait for a profile', () => spareWorkerOf(sup.proc.pid) !== null, 30_000);
    for (const h of sample) await wake(h, inARow);
    const first = median(firsts);
    rows.push({
      figure: `first request to an idle-stopped worker answered (median of ${firsts.length}, ms)`,
      value: first.toFixed(0),
      target: '≤ 150, 0 failed',
      met: first <= 150 && failed === 0,
      note: `${failed} failed, max ${Math.max(...firsts).toFixed(0)} ms; each with the spare worker waiting (one is kept while idle stop is on)`,
    });
    rows.push({
      figure: `… ${inARow.length} idle-stopped workers woken one right after another (median, ms)`,
      value: median(inARow).toFixed(0),
      target: '',
      met: null,
      note: `${inARow.map((v) => v.toFixed(0)).join(', ')} ms in order: from the second on, the spare taken is still loading`,
    });

    // A switch to a profile whose worker is stopped: until /api/profile/current answers it. As a person switches
    // (the spare waiting), then one right after another (the spare taken is still loading).
    const switches: number[] = [];
    const switchesInARow: number[] = [];
    const targets = sample.slice(0, full ? 5 : 1);
    for (const h of targets) {
      await waitFor(`${h} to be idle-stopped again`, async () => (await sup.worker(h)).state === 'idle', 60_000);
      await waitFor('a spare worker to wait for a profile', () => spareWorkerOf(sup.proc.pid) !== null, 30_000);
      switches.push(await timedSwitch(sup.url, h));
    }
    await waitFor('the switched-to workers to be stopped for being idle again', async () => (await sup.workers()).filter((w) => targets.includes(w.handle) && w.state === 'idle').length === targets.length, 60_000);
    await waitFor('a spare worker to wait for a profile', () => spareWorkerOf(sup.proc.pid) !== null, 30_000);
    for (const h of targets) switchesInARow.push(await timedSwitch(sup.url, h));
    const sw = median(switches);
    rows.push({ figure: `switch to an idle-stopped profile → /api/profile/current answers it (median of ${switches.length}, ms)`, value: sw.toFixed(0), target: '≤ 150', met: sw <= 150, note: `max ${Math.max(...switches).toFixed(0)} ms; each with the spare worker waiting` });
    rows.push({ figure: `… ${switchesInARow.length} switches one right after another (median, ms)`, value: median(switchesInARow).toFixed(0), target: '', met: null, note: `${switchesInARow.map((v) => v.toFixed(0)).join(', ')} ms in order` });

    // What the spare costs: the one process that waits for a profile.
    const spare = spareWorkerOf(sup.proc.pid);
    if (spare) {
      const m = memoryOf(spare);
      rows.push({ figure: 'the spare worker kept while idle stop is on', value: `${mb(m.rss)} RSS`, target: '', met: null, note: `PSS ${mb(m.pss)}` });
    }

    // 20 registered, 2 in use: light traffic to two of them while the others sleep, then every process measured.
    const inUse = names.slice(0, 2);
    const until = performance.now() + (full ? 8000 : 3000);
    while (performance.now() < until) {
      for (const h of inUse) await getJson(`${sup.url}/p/${h}/api/profile/current`);
      await sleep(500);
    }
    await waitFor('only the profiles in use to run', async () => (await sup.workers()).filter((w) => w.pid).length <= inUse.length, 60_000);
    const running = (await sup.workers()).filter((w) => w.pid);
    const spareNow = spareWorkerOf(sup.proc.pid);
    const total = running.reduce((a, w) => a + memoryOf(w.pid).rss, 0) + memoryOf(sup.proc.pid).rss + (spareNow ? memoryOf(spareNow).rss : 0);
    rows.push({
      figure: `${count} registered, ${inUse.length} in use, IDLE_TIMEOUT_MS on: RSS of supervisor + workers`,
      value: mb(total),
      target: '≤ 400 MB',
      met: total <= 400 * 2 ** 20,
      note: `${running.length} workers running${spareNow ? ' and the spare' : ''}`,
    });
  } finally {
    await sup.stop();
  }
  return rows;
}

async function switchRecycleHeal(full: boolean): Promise<Row[]> {
  const count = full ? 10 : 2;
  const names = handles(count);
  const sup = await startSupervisor(names, { MAX_RESTARTS: '1000' });
  const rows: Row[] = [];
  try {
    await sup.waitAllReady(count);

    // Switch: POST until /api/profile/current answers the new handle.
    const switches: number[] = [];
    for (let i = 0; i < (full ? 10 : 2); i++) {
      const target = names[(i + 1) % names.length]!;
      switches.push(await timedSwitch(sup.url, target));
    }
    const sw = median(switches);
    rows.push({ figure: 'switch → /api/profile/current answers it (median, ms)', value: sw.toFixed(0), target: '≤ 600', met: sw <= 600, note: `${switches.length} switches` });

    // Recycle under load: 10 graceful recycles while 200 req/s hit that profile.
    const handle = names[0]!;
    const recycles = full ? 10 : 2;
    const loadRun = load(`${sup.url}/p/${handle}/healthz`, { connections: 20, seconds: full ? 20 : 4, rate: 200 });
    await sleep(300); // the load runs a moment before the first recycle
    const recycleTimes: number[] = [];
    for (let i = 0; i < recycles; i++) {
      const t0 = performance.now();
      await getJson(`${sup.url}/supervisor/api/workers/${handle}/restart`, { method: 'POST' });
      recycleTimes.push(performance.now() - t0);
    }
    const result = await loadRun;
    const failed = result.errors + result.non2xx;
    rows.push({
      figure: `${recycles} recycles under 200 req/s: failed requests`,
      value: String(failed),
      target: '0',
      met: failed === 0,
      note: `${result.requests} requests, client p99 ${result.p99} ms (held time included), recycle median ${median(recycleTimes).toFixed(0)} ms`,
    });

    // Healing: kill -9 one worker each (an isolated crash: the first restart waits the 0.5 s base backoff).
    const heals: number[] = [];
    for (const h of names.slice(0, full ? 10 : 2)) {
      const before = await sup.worker(h);
      const t0 = performance.now();
      process.kill(before.pid, 'SIGKILL');
      await waitFor(`${h} to answer again`, async () => {
        const w = await sup.worker(h);
        if (w.pid === before.pid || w.state !== 'ready') return false;
        return (await getJson(`${w.direct_url}healthz`).catch(() => null)) !== null;
      }, 15_000);
      heals.push(performance.now() - t0);
    }
    const heal = median(heals);
    rows.push({ figure: 'healing, kill -9 → answers again (median, ms)', value: heal.toFixed(0), target: '≤ 650 (the 500 ms backoff + 150)', met: heal <= 650, note: `${heals.length} workers, 500 ms of it is the backoff` });
  } finally {
    await sup.stop();
  }
  return rows;
}
