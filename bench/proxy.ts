import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { once } from 'node:events';
import { PROJECT_ROOT } from '../shared/profiles/paths.ts';
import { runtimeDir, workerSocketPath } from '../supervisor/workers/runtime-dir.ts';
import { freePort, getJson, killGroup, mb, median, spawnQuiet, startSupervisor, waitFor, wrk, type Row, type Size } from './lib.ts';

const HANDLE = 'bench';

/** Proxy throughput and added latency against a direct worker, configurable-http-proxy (JupyterHub's proxy)
 *  and nginx, all loaded by wrk; and a 10 MiB upload through the supervisor against direct. */
export async function run(size: Size): Promise<Row[]> {
  const full = size === 'full';
  const sup = await startSupervisor([HANDLE]);
  const cleanups: (() => Promise<void> | void)[] = [() => sup.stop()];
  try {
    await sup.waitAllReady(1);
    const worker = await sup.worker(HANDLE);
    const direct = `${worker.direct_url.replace(/\/$/, '')}/healthz`;
    const through = `${sup.url}/p/${HANDLE}/healthz`;

    const chp = await startChp(worker.direct_url);
    cleanups.push(chp.stop);
    const bare = await startBareUndici(workerSocketPath(runtimeDir(sup.config.dir, sup.port), HANDLE));
    cleanups.push(bare.stop);
    const nginx = await startNginx(worker.direct_url);
    if (nginx) cleanups.push(nginx.stop);

    // Throughput: rounds interleave the targets so that drift of a shared machine hits all of them alike.
    const targets: [string, string][] = [
      ['direct', direct],
      ['supervisor', through],
      ['configurable-http-proxy', `${chp.url}/healthz`],
      ['bare undici proxy', `${bare.url}/p/${HANDLE}/healthz`],
      ...(nginx ? ([['nginx', `${nginx.url}/healthz`]] as [string, string][]) : []),
    ];
    const rounds = full ? 5 : 1;
    const seconds = full ? 5 : 1;
    const rps = new Map<string, number[]>(targets.map(([name]) => [name, []]));
    const failures = new Map<string, number>();
    for (const [, url] of targets) await wrk(url, { connections: 50, seconds: 1 }); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (const [name, url] of targets) {
        const result = await wrk(url, { connections: 50, seconds });
        rps.get(name)!.push(result.rps);
        failures.set(name, (failures.get(name) ?? 0) + result.failed);
      }
    }
    const m = (name: string) => median(rps.get(name)!);
    const rows: Row[] = [];
    for (const [name] of targets) {
      rows.push({ figure: `throughput, ${name} (req/s, 50 conns)`, value: m(name).toFixed(0), target: '', met: null, note: `${failures.get(name)} failed` });
    }
    const vsDirect = m('supervisor') / m('direct');
    const vsChp = m('supervisor') / m('configurable-http-proxy');
    rows.push({ figure: 'supervisor ÷ configurable-http-proxy', value: vsChp.toFixed(2), target: '≥ 2.0', met: vsChp >= 2 });
    rows.push({ figure: 'supervisor ÷ direct', value: vsDirect.toFixed(2), target: '≥ 0.6', met: vsDirect >= 0.6 });
    rows.push({ figure: 'supervisor ÷ bare undici proxy', value: (m('supervisor') / m('bare undici proxy')).toFixed(2), target: '(reference: the same transport, nothing else)', met: null });
    if (nginx) rows.push({ figure: 'supervisor ÷ nginx', value: (m('supervisor') / m('nginx')).toFixed(2), target: '(reference)', met: null });

    // Added latency: one connection, interleaved rounds, wrk's own percentiles.
    // nginx beside them: what the cheapest proxy adds on this machine (its hops, not its code).
    const p50 = { direct: [] as number[], supervisor: [] as number[], bare: [] as number[], nginx: [] as number[] };
    const p99 = { direct: [] as number[], supervisor: [] as number[], bare: [] as number[], nginx: [] as number[] };
    const latencyTargets = [['direct', direct], ['supervisor', through], ['bare', `${bare.url}/p/${HANDLE}/healthz`], ...(nginx ? [['nginx', `${nginx.url}/healthz`]] : [])] as [keyof typeof p50, string][];
    for (let round = 0; round < rounds; round++) {
      for (const [name, url] of latencyTargets) {
        const result = await wrk(url, { connections: 1, seconds: full ? 4 : 1 });
        p50[name].push(result.p50);
        p99[name].push(result.p99);
      }
    }
    const added50 = median(p50.supervisor) - median(p50.direct);
    rows.push({ figure: 'latency direct p50 / p99 (µs, 1 conn)', value: `${median(p50.direct).toFixed(0)} / ${median(p99.direct).toFixed(0)}`, target: '', met: null });
    rows.push({ figure: 'latency supervisor p50 / p99 (µs, 1 conn)', value: `${median(p50.supervisor).toFixed(0)} / ${median(p99.supervisor).toFixed(0)}`, target: '', met: null });
    rows.push({ figure: 'added latency p50 (µs)', value: added50.toFixed(0), target: '≤ 120', met: added50 <= 120, note: `p99 added ${(median(p99.supervisor) - median(p99.direct)).toFixed(0)} µs` });
    rows.push({ figure: 'added latency p50 of the bare undici proxy (µs)', value: (median(p50.bare) - median(p50.direct)).toFixed(0), target: '(reference)', met: null });
    if (nginx) rows.push({ figure: 'added latency p50 of nginx (µs)', value: (median(p50.nginx) - median(p50.direct)).toFixed(0), target: '(reference)', met: null });

    rows.push(...(await upload(sup.url, worker.direct_url, sup.config.file('downloads', HANDLE), full)));
    return rows;
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

async function upload(supUrl: string, directUrl: string, downloads: string, full: boolean): Promise<Row[]> {
  const csv = makeCsv(full ? 10 * 1024 * 1024 : 256 * 1024);
  const send = async (url: string) => {
    const t0 = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    const body = (await res.json()) as { file?: string; success?: boolean };
    if (!res.ok || !body.file) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    const seconds = (performance.now() - t0) / 1000;
    const stored = await fs.readFile(path.join(downloads, body.file));
    return { mbps: csv.length / 2 ** 20 / seconds, identical: stored.equals(csv) };
  };
  const runs = full ? 8 : 1;
  const direct: number[] = [];
  const through: number[] = [];
  let identical = true;
  for (let i = 0; i < runs; i++) {
    // Each goes first in every other pair, so that what an upload leaves behind (its file still being written
    // out, the worker's heap) weighs on both alike.
    const sendDirect = () => send(`${directUrl.replace(/\/$/, '')}/api/mis/upload-csv`);
    const sendThrough = () => send(`${supUrl}/p/${HANDLE}/api/mis/upload-csv`);
    const first = i % 2 === 0 ? await sendDirect() : await sendThrough();
    const second = i % 2 === 0 ? await sendThrough() : await sendDirect();
    const [d, s] = i % 2 === 0 ? [first, second] : [second, first];
    direct.push(d.mbps);
    through.push(s.mbps);
    identical &&= d.identical && s.identical;
  }
  const ratio = median(through) / median(direct);
  return [
    { figure: `upload ${mb(csv.length)} CSV, direct / supervisor (MiB/s)`, value: `${median(direct).toFixed(1)} / ${median(through).toFixed(1)}`, target: '', met: null },
    { figure: 'upload supervisor ÷ direct', value: ratio.toFixed(2), target: '≥ 0.9, byte-identical', met: ratio >= 0.9 && identical, note: identical ? 'stored files byte-identical' : 'stored file differs!' },
  ];
}

function makeCsv(bytes: number): Buffer {
  const lines = ['sku,name,price,qty,store'];
  let size = lines[0]!.length + 1;
  for (let i = 0; size < bytes; i++) {
    const line = `${i},"Item ${crypto.randomBytes(6).toString('hex')}, large",${(i % 997) / 10},${i % 50},store-${i % 7}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

export async function startBareUndici(socketPath: string | null) {
  if (!socketPath) throw new Error('the worker has no Unix socket to proxy to');
  const port = await freePort();
  const child = spawnQuiet(process.execPath, [path.join(PROJECT_ROOT, 'bench', 'bare-undici-proxy.ts'), socketPath, String(port)]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the bare undici proxy', () => getJson(`${url}/p/${HANDLE}/healthz`).catch(() => null), 20_000);
  return { url, pid: child.pid!, stop: () => killGroup(child) };
}

export async function startChp(target: string) {
  const port = await freePort();
  const apiPort = await freePort();
  const bin = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'configurable-http-proxy');
  const child = spawnQuiet(bin, ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--default-target', target.replace(/\/$/, ''), '--log-level', 'error']);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('configurable-http-proxy', () => getJson(`${url}/healthz`).catch(() => null), 20_000);
  return { url, pid: child.pid!, stop: () => killGroup(child) };
}

export async function startNginx(target: string) {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
  if (!nginx) return null;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-bench-nginx-'));
  const port = await freePort();
  const upstream = new URL(target).host;
  await fs.writeFile(
    path.join(dir, 'nginx.conf'),
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log stderr error;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  upstream w { server ${upstream}; keepalive 64; }
  keepalive_requests 1000000;
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://w; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; } } }
`,
  );
  const child = spawnQuiet(nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf')]);
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([
    waitFor('nginx', () => getJson(`${url}/healthz`).catch(() => null), 20_000),
    once(child, 'exit').then(() => Promise.reject(new Error('nginx exited'))),
  ]);
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      killGroup(child);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
