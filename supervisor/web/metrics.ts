import type { Counter, Gauge, Histogram } from 'prom-client';
import { onDemand } from '../../shared/runtime/cjs-imports.ts';
import type { LifecycleEvent, WorkerState } from '../workers/worker-lifecycle.ts';
import type { ProxyObserver } from '../proxy/proxy.ts';

const prom = onDemand.promClient();

const STATES: WorkerState[] = ['starting', 'ready', 'draining', 'stopped', 'idle', 'backoff', 'errored'];

/** Prometheus metrics of the supervisor (`GET /metrics`). */
export class SupervisorMetrics {
  readonly registry = new prom.Registry();
  readonly #restarts: Counter<'handle'>;
  readonly #spawn: Histogram<'handle'>;
  readonly #recycle: Histogram<'handle'>;
  readonly #requests: Counter<'handle' | 'code'>;
  readonly #latency: Histogram<'handle'>;
  readonly #held: Gauge;

  constructor(workers: () => { name: string; state: WorkerState }[]) {
    prom.collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    new prom.Gauge({
      name: 'tat_worker_state',
      help: 'Worker state per profile (1 for the current state, 0 for the others)',
      labelNames: ['handle', 'state'],
      registers,
      collect() {
        this.reset();
        for (const w of workers()) {
          for (const state of STATES) this.set({ handle: w.name, state }, w.state === state ? 1 : 0);
        }
      },
    });
    this.#restarts = new prom.Counter({ name: 'tat_worker_restarts_total', help: 'Unexpected worker exits that led to a restart or to errored', labelNames: ['handle'], registers });
    this.#spawn = new prom.Histogram({
      name: 'tat_worker_spawn_duration_seconds',
      help: 'Time from spawning a worker process to its ready message',
      labelNames: ['handle'],
      buckets: [0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 20],
      registers,
    });
    this.#recycle = new prom.Histogram({
      name: 'tat_worker_recycle_duration_seconds',
      help: 'Time of a graceful recycle, from holding requests to the new process ready',
      labelNames: ['handle'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.#requests = new prom.Counter({ name: 'tat_proxy_requests_total', help: 'Proxied requests by profile and status code', labelNames: ['handle', 'code'], registers });
    this.#latency = new prom.Histogram({
      name: 'tat_proxy_request_duration_seconds',
      help: 'Time from receiving a proxied request to its response finishing',
      labelNames: ['handle'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#held = new prom.Gauge({ name: 'tat_proxy_held_requests', help: 'Requests held while their worker starts or recycles', registers });
  }

  /** Labelled children, looked up once: label hashing on every request is measurable on the proxy path. */
  readonly #requestChildren = new Map<string, { inc(): void }>();
  readonly #latencyChildren = new Map<string, { observe(value: number): void }>();

  readonly proxyObserver: ProxyObserver = {
    onResult: (handle, status, seconds) => {
      const key = `${handle} ${status}`;
      let requests = this.#requestChildren.get(key);
      if (!requests) this.#requestChildren.set(key, (requests = this.#requests.labels({ handle, code: String(status) })));
      requests.inc();
      let latency = this.#latencyChildren.get(handle);
      if (!latency) this.#latencyChildren.set(handle, (latency = this.#latency.labels({ handle })));
      latency.observe(seconds);
    },
    onHeld: (delta) => this.#held.inc(delta),
  };

  /** `name`: the profile's handle, or the setup worker's name. */
  onWorkerEvent(handle: string, event: LifecycleEvent): void {
    if (event.kind === 'ready') this.#spawn.observe({ handle }, event.spawnSeconds);
    else if (event.kind === 'recycled') this.#recycle.observe({ handle }, event.seconds);
    else if (event.kind === 'crashed') this.#restarts.inc({ handle });
  }
}
