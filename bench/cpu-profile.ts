// What a V8 CPU profile (`node --cpu-prof`) says a process spent its time on: self time grouped by where the
// code comes from (a package, Node's own modules, our files, the garbage collector), and the costliest
// functions.
import fs from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Time the process was busy (not idle), ms. */
  busyMs: number;
  /** Share of busy time by origin, largest first. */
  origins: { origin: string; share: number }[];
  /** The costliest functions by self time. */
  functions: { name: string; share: number }[];
}

/** The profile that process `pid` wrote into `dir`. */
export async function profileOf(dir: string, pid: number): Promise<string | null> {
  const name = (await fs.readdir(dir)).find((f) => f.endsWith('.cpuprofile') && f.split('.').includes(String(pid)));
  return name ? path.join(dir, name) : null;
}

/** `fromMs`: samples of the first milliseconds (the process's own start, before the load) are left out. */
export async function summarise(file: string, options: { fromMs?: number; top?: number } = {}): Promise<ProfileSummary> {
  const top = options.top ?? 6;
  const profile = JSON.parse(await fs.readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const from = (options.fromMs ?? 0) * 1000;
  let at = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= from) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const origins = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += micros;
    const origin = originOf(frame);
    origins.set(origin, (origins.get(origin) ?? 0) + micros);
    const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  const ranked = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    busyMs: busy / 1000,
    origins: ranked(origins).map(([origin, t]) => ({ origin, share: t / busy })),
    functions: ranked(functions).map(([name, t]) => ({ name, share: t / busy })),
  };
}

/** One line for the table: the origins, then the costliest functions. */
export function describe(summary: ProfileSummary): string {
  const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
  return `${summary.origins.map((o) => `${o.origin} ${pct(o.share)}`).join(', ')}; costliest: ${summary.functions.map((f) => `\`${f.name}\` ${pct(f.share)}`).join(', ')}`;
}

function originOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : 'V8 / native';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/').replace(/^internal\//, '')}`;
  const ours = /\/(?:dist\/)?(supervisor|worker|shared)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]!.replace(/\.[jt]s$/, '')}`;
  return shortUrl(url);
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|dist|supervisor|worker|shared)\//, '$1/').replace(/^node:internal\//, 'node:');
}
