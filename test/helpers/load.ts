// Load for the reliability suite: client loops that send request after request over keep-alive connections
// and keep every request's timing and outcome.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Recorder, type Reply } from './http.ts';

export interface RequestSpec {
  method: string;
  path: string;
  /** The profile the request is for (null: the current one through /api, or the supervisor itself). */
  handle: string | null;
  body?: unknown;
  /** Called with the answer (e.g. to remember an acknowledged write). */
  onReply?(reply: Reply): void;
}

export interface Sample {
  spec: RequestSpec;
  start: number;
  end: number;
  status: number | null;
  error: string | null;
  body: any;
}

/** `concurrency` client loops, each sending `next()` one after another over a keep-alive agent until
 *  `running()` is false; every request is recorded with its start and end (monotonic ms). */
export async function runClients(port: number, options: { concurrency: number; running: () => boolean; next: (loop: number) => RequestSpec; ev?: Recorder; maxRequests?: number }): Promise<Sample[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const samples: Sample[] = [];
  const max = options.maxRequests ?? 1_000_000;
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, loop) => {
        while (options.running() && samples.length < max) {
          const spec = options.next(loop);
          const start = performance.now();
          try {
            const reply = await request(port, spec.method, spec.path, { body: spec.body, agent, timeoutMs: 30_000 });
            samples.push({ spec, start, end: performance.now(), status: reply.status, error: null, body: reply.body });
            if (options.ev && (reply.status >= 400 || samples.length % 50 === 0)) {
              options.ev.record({ what: `${spec.method} ${spec.path}`, status: reply.status, headers: reply.headers, text: reply.text });
            }
            spec.onReply?.(reply);
          } catch (error) {
            samples.push({ spec, start, end: performance.now(), status: null, error: (error as Error).message, body: null });
            await sleep(20); // a refused connection fails at once: no hot loop
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return samples;
}

/** Short text of the failed samples, for assertion messages. */
export function describeSamples(samples: Sample[], limit = 10): string {
  return samples
    .slice(0, limit)
    .map((s) => `${s.spec.method} ${s.spec.path} → ${s.status ?? s.error} ${typeof s.body === 'object' && s.body ? JSON.stringify(s.body).slice(0, 300) : ''}`)
    .join('\n');
}

/** A random element (Math.random is fine: the scenarios are about timing, not reproducible data). */
export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/** A steady `perSecond` requests a second, each on a new connection (as many different clients would send
 *  them), while `running()` and at most `maxRequests`; resolves with every request's outcome once the last
 *  one is answered or failed. */
export async function pacedRequests(port: number, options: { perSecond: number; running: () => boolean; next: (n: number) => RequestSpec; maxRequests: number; timeoutMs?: number }): Promise<Sample[]> {
  const samples: Promise<Sample>[] = [];
  const gap = 1000 / options.perSecond;
  const began = performance.now();
  while (options.running() && samples.length < options.maxRequests) {
    const spec = options.next(samples.length);
    const start = performance.now();
    samples.push(
      request(port, spec.method, spec.path, { body: spec.body, timeoutMs: options.timeoutMs ?? 30_000 }).then(
        (reply) => ({ spec, start, end: performance.now(), status: reply.status, error: null, body: reply.body }),
        (error: Error) => ({ spec, start, end: performance.now(), status: null, error: error.message, body: null }),
      ),
    );
    // On schedule, whatever each request takes: the rate is the clients', not the server's.
    const due = began + samples.length * gap - performance.now();
    if (due > 0) await sleep(due);
  }
  return Promise.all(samples);
}
