// A restart of the supervisor: how long until the next one has taken back every worker and each answers
// through it, and how many connections are refused meanwhile — under pm2 (which cannot hand the listening
// socket over) and with the socket held the way systemd holds it (deploy/tat-mis.socket).
import fs from 'node:fs';
import { PROJECT_ROOT } from '../shared/profiles/paths.ts';
import { pacedRequests } from '../test/helpers/load.ts';
import { makePm2 } from '../test/helpers/ops.ts';
import { entryArgs, killRecordedWorkers, startProcess, type LogLine } from '../test/helpers/processes.ts';
import { freePort, freePortRange, getJson, makeConfigDir, median, startSupervisor, waitFor, type Row, type Size } from './lib.ts';

const handles = (n: number) => Array.from({ length: n }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)); // a measured duration, not a wait for a condition

export async function run(size: Size): Promise<Row[]> {
  const full = size === 'full';
  return [...(await adoption(full)), ...(await refusedUnderPm2(full)), ...(await refusedWithSocket(full))];
}

/** kill -9 of a supervisor with N ready workers, then a new one: until all N answer through it. */
async function adoption(full: boolean): Promise<Row[]> {
  const count = full ? 20 : 3;
  const names = handles(count);
  const times: number[] = [];
  const listening: number[] = [];
  const adopting: number[] = [];
  for (let round = 0; round < (full ? 3 : 1); round++) {
    const first = await startSupervisor(names);
    let next = first;
    try {
      await first.waitAllReady(count, 60_000);
      const pids = new Map((await first.workers()).map((w) => [w.handle, w.pid]));
      process.kill(first.proc.pid, 'SIGKILL');
      await first.proc.exited();
      const t0 = performance.now();
      next = await startSupervisor([], { LOG_LEVEL: 'info' }, first);
      listening.push(performance.now() - t0);
      await waitFor('every worker to answer through the new supervisor', async () => {
        const answers = await Promise.all(names.map((h) => getJson(`${next.url}/p/${h}/healthz`).then(() => true, () => false)));
        return answers.every(Boolean);
      }, 30_000);
      times.push(performance.now() - t0);
      const took = next.proc.lines.find((l) => l.msg === 'took back the workers of the earlier supervisor');
      if (typeof took?.ms !== 'number') throw new Error('the new supervisor did not log taking the workers back');
      adopting.push(took.ms);
      const after = await next.workers();
      const restarted = after.filter((w) => w.pid !== pids.get(w.handle)).length;
      if (restarted > 0) throw new Error(`${restarted} workers were restarted instead of taken back`);
    } finally {
      await next.stop();
      await killRecordedWorkers(first.config.dir);
      await first.config.remove();
    }
  }
  const a = median(adopting);
  return [
    { figure: `supervisor restart (kill -9, then a new one): adoption of all ${count} workers, as the new supervisor logs it (ms)`, value: a.toFixed(0), target: '≤ 1000', met: a <= 1000, note: `median of ${adopting.length}; from reading the records to every worker proven and taken` },
    { figure: `… spawn of the new supervisor → it answers (ms) / → all ${count} answer through it (ms)`, value: `${median(listening).toFixed(0)} / ${median(times).toFixed(0)}`, target: '', met: null, note: 'the supervisor listens once adoption is done: its own start (loading its modules) before it' },
  ];
}

interface Outcome {
  requests: number;
  refused: number;
  failed: number;
  gapMs: number;
  slowestMs: number;
}

/** Requests at 100/s, each on a new connection, while `restart` runs. */
async function underLoad(port: number, paths: string[], restart: () => Promise<void>, full: boolean): Promise<Outcome> {
  let running = true;
  const load = pacedRequests(port, { perSecond: 100, running: () => running, maxRequests: 5000, timeoutMs: 30_000, next: (n) => ({ method: 'GET', path: paths[n % paths.length]!, handle: null }) });
  await sleep(1000);
  await restart();
  await sleep(full ? 3000 : 1500);
  running = false;
  const samples = await load;
  const refused = samples.filter((s) => s.error?.includes('ECONNREFUSED'));
  const gap = refused.length ? Math.max(...refused.map((s) => s.start)) - Math.min(...refused.map((s) => s.start)) : 0;
  return {
    requests: samples.length,
    refused: refused.length,
    failed: samples.filter((s) => s.status !== 200).length,
    gapMs: gap,
    slowestMs: Math.max(...samples.map((s) => s.end - s.start)),
  };
}

async function refusedUnderPm2(full: boolean): Promise<Row[]> {
  const names = handles(3);
  const config = await makeConfigDir({ profiles: names });
  const port = await freePort();
  const base = await freePortRange(4);
  const pm2 = await makePm2({ TAT_CONFIG_DIR: config.dir, PORT: String(port), WORKER_BASE_PORT: String(base), LOG_LEVEL: 'warn', STOP_TIMEOUT_MS: '5000' });
  const rows: Row[] = [];
  try {
    await pm2.cli('start', 'ecosystem.config.cjs');
    await waitFor('every worker ready', async () => ((await getJson(`http://127.0.0.1:${port}/healthz`)).workers.ready ?? 0) === names.length, 30_000);
    const results: Outcome[] = [];
    for (let i = 0; i < (full ? 3 : 1); i++) {
      results.push(await underLoad(port, names.map((h) => `/p/${h}/healthz`), async () => void (await pm2.cli('reload', 'tat-mis')), full));
      await waitFor('every worker ready again', async () => ((await getJson(`http://127.0.0.1:${port}/healthz`)).workers.ready ?? 0) === names.length, 30_000);
    }
    const refused = median(results.map((r) => r.refused));
    const gap = median(results.map((r) => r.gapMs));
    rows.push({
      figure: '`pm2 reload` under 100 req/s: refused connections',
      value: String(refused),
      target: 'measured (pm2 cannot hand the socket over)',
      met: null,
      note: `median of ${results.length} reloads of ${results.map((r) => r.requests).join('/')} requests; refused for ${gap.toFixed(0)} ms (the next supervisor's start); other failures ${results.map((r) => r.failed - r.refused).join('/')}`,
    });
  } finally {
    await pm2.cli('delete', 'tat-mis').catch(() => {});
    await pm2.cleanup();
    await killRecordedWorkers(config.dir); // left to stop after ORPHAN_TIMEOUT_MS: not waited for here
    await config.remove();
  }
  return rows;
}

async function refusedWithSocket(full: boolean): Promise<Row[]> {
  const names = handles(3);
  const config = await makeConfigDir({ profiles: names });
  const port = await freePort();
  const base = await freePortRange(4);
  const stopFile = config.file('stop-the-loop');
  const env: Record<string, string> = { TAT_CONFIG_DIR: config.dir, PORT: String(port), WORKER_BASE_PORT: String(base), LOG_LEVEL: 'info', STOP_TIMEOUT_MS: '5000', PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const loop = `while [ ! -e ${JSON.stringify(stopFile)} ]; do sh -c 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"' sh ${[process.execPath, ...entryArgs('supervisor/main.ts')].map((a) => JSON.stringify(a)).join(' ')}; done`;
  const holder = startProcess('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, ...Object.entries(env).flatMap(([k, v]) => ['-E', `${k}=${v}`]), '/bin/sh', '-c', loop], { env: process.env as Record<string, string>, cwd: PROJECT_ROOT });
  const supervisors = () => holder.lines.filter((l: LogLine) => l.name === 'supervisor' && l.msg?.startsWith('supervisor listening')).map((l) => l.pid as number);
  const rows: Row[] = [];
  try {
    await waitFor('systemd-socket-activate to hold the port', () => holder.output().includes(`Listening on 127.0.0.1:${port}`), 10_000);
    await waitFor('every worker ready', async () => ((await getJson(`http://127.0.0.1:${port}/healthz`)).workers.ready ?? 0) === names.length, 30_000);
    const results: Outcome[] = [];
    for (let i = 0; i < (full ? 3 : 1); i++) {
      const old = supervisors().at(-1)!;
      results.push(
        await underLoad(port, names.map((h) => `/p/${h}/healthz`), async () => {
          process.kill(old, 'SIGTERM');
          await waitFor('the next supervisor', () => supervisors().at(-1) !== old, 30_000);
        }, full),
      );
    }
    const refused = median(results.map((r) => r.refused));
    const failed = Math.max(...results.map((r) => r.failed));
    rows.push({
      figure: 'restart with the socket held (systemd socket activation) under 100 req/s: refused / failed requests',
      value: `${refused} / ${failed}`,
      target: '0 / 0',
      met: refused === 0 && failed === 0,
      note: `${results.length} restarts of ${results.map((r) => r.requests).join('/')} requests; the slowest waited ${Math.max(...results.map((r) => r.slowestMs)).toFixed(0)} ms in the socket's queue`,
    });
  } finally {
    fs.writeFileSync(stopFile, '');
    for (const pid of supervisors()) {
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        // gone
      }
    }
    await waitFor('the supervisors to stop', () => supervisors().every((pid) => !fs.existsSync(`/proc/${pid}`)), 15_000).catch(() => {});
    await holder.kill();
    await killRecordedWorkers(config.dir);
    await config.remove();
  }
  return rows;
}
