import { startEntry, type Started } from './processes.ts';
import { freePort } from './ports.ts';

export interface RunningWorker extends Started {
  port: number;
  url: string;
  /** fetch relative to the worker; JSON helpers below. */
  get(path: string): Promise<{ status: number; body: any; headers: Headers }>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
}

/** Starts `worker/main.ts` alone (no supervisor), as the guide's multi-instance section runs it. */
export async function startWorker(configDir: string, env: Record<string, string> = {}): Promise<RunningWorker> {
  const port = await freePort();
  const started = startEntry('worker/main.ts', { TAT_CONFIG_DIR: configDir, PORT: String(port), ...env });
  await started.waitForLine((l) => typeof l.msg === 'string' && l.msg.includes('listening on'));
  const url = `http://127.0.0.1:${port}`;
  return { ...started, port, url, get: (p) => request(url, 'GET', p), post: (p, b, h) => request(url, 'POST', p, b, h) };
}

export async function request(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
