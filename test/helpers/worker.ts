import { client, keepAliveAgent, type Reply } from './http.ts';
import { killOnFailure, startEntry, type Started } from './processes.ts';
import { freePort } from './ports.ts';

export interface RunningWorker extends Started {
  port: number;
  url: string;
  /** Requests to the worker (http.ts) over kept-alive connections: a string body is JSON unless `headers`
   *  name a content type. */
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
}

/** A request may take as long as a worker's slowest route (Chrome, an MIS export). */
const WORKER_TIMEOUT_MS = 300_000;

/** Starts `worker/main.ts` alone (no supervisor), as the guide's multi-instance section runs it. */
export async function startWorker(configDir: string, env: Record<string, string> = {}): Promise<RunningWorker> {
  const port = await freePort();
  const started = startEntry('worker/main.ts', { TAT_CONFIG_DIR: configDir, PORT: String(port), ...env });
  await killOnFailure(started, started.waitForLine((l) => typeof l.msg === 'string' && l.msg.includes('listening on')));
  const http = client(port, { jsonStrings: true, timeoutMs: WORKER_TIMEOUT_MS, agent: keepAliveAgent });
  return { ...started, port, url: http.base, get: http.get, post: http.post };
}
