// A spawner without processes, for unit tests of the lifecycle and of reconcile: each "process" is an
// object the test drives (ready, crash, hang), and every spawn and stop is recorded.
import { processEventOf, type Exit, type ProcessHooks, type RunningProcess, type Spawner } from '../../supervisor/workers/worker-process.ts';
import type { WorkerSpec } from '../../supervisor/workers/worker-spec.ts';
import type { WorkerMessage } from '../../shared/runtime/ipc.ts';

/** What a fake process does by itself once spawned. */
export type Behaviour = 'ready' | 'crash' | 'hang';

let nextPid = 100_000;

export class FakeProcess implements RunningProcess {
  readonly pid = nextPid++;
  readonly startedAt = performance.now();
  readonly spec: WorkerSpec;
  readonly exited: Promise<Exit>;
  browserOpen = false;
  /** How it was ended: `stop` (graceful), `kill`, or a crash the test caused. */
  endedBy: 'stop' | 'kill' | 'crash' | null = null;
  #exit: Exit | null = null;
  #resolve!: (exit: Exit) => void;
  readonly #hooks: ProcessHooks;

  constructor(spec: WorkerSpec, hooks: ProcessHooks) {
    this.spec = spec;
    this.#hooks = hooks;
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }

  get running(): boolean {
    return this.#exit === null;
  }

  /** Says `ready`, as a worker does once it listens. */
  ready(): void {
    if (this.running) this.#hooks.onEvent({ kind: 'ready', port: this.spec.port || 45_000, socket: null });
  }

  /** An IPC message from the worker, read as the real process module reads it. */
  message(message: WorkerMessage): void {
    const event = processEventOf(message);
    if (this.running && event) this.#hooks.onEvent(event);
  }

  line(text: string): void {
    this.#hooks.onLine(text);
  }

  crash(code = 1): void {
    this.endedBy ??= 'crash';
    this.#end({ code, signal: null });
  }

  /** Set by a test: a stop is asked for (`stopAsked`) but the process goes only at `finishStop()`. */
  slowStop = false;
  stopAsked = false;

  stop(_graceMs: number): Promise<Exit> {
    this.stopAsked = true;
    this.endedBy ??= 'stop';
    if (!this.slowStop) this.finishStop();
    return this.exited;
  }

  finishStop(): void {
    this.#end({ code: 0, signal: null });
  }

  kill(): void {
    this.endedBy ??= 'kill';
    this.#end({ code: null, signal: 'SIGKILL' });
  }

  #end(exit: Exit): void {
    if (!this.running) return;
    this.#exit = exit;
    this.#resolve(exit);
  }
}

export class FakeSpawner {
  readonly spawned: FakeProcess[] = [];
  /** Per worker name; `ready` when not set. */
  readonly behaviour = new Map<string, Behaviour>();

  readonly spawn: Spawner = (spec, hooks) => {
    const proc = new FakeProcess(spec, hooks);
    this.spawned.push(proc);
    const behaviour = this.behaviour.get(spec.name) ?? 'ready';
    // On a later turn, as a real process would: the lifecycle has finished spawning by then.
    setImmediate(() => {
      proc.line(JSON.stringify({ level: 30, msg: `fake worker ${spec.name} (${behaviour})` }));
      if (behaviour === 'ready') proc.ready();
      else if (behaviour === 'crash') proc.crash(1);
    });
    return proc;
  };

  of(name: string): FakeProcess[] {
    return this.spawned.filter((p) => p.spec.name === name);
  }

  last(name: string): FakeProcess | undefined {
    return this.of(name).at(-1);
  }

  running(name: string): FakeProcess[] {
    return this.of(name).filter((p) => p.running);
  }
}

/** A profile worker's spec, as the desired state would make it. */
export function testSpec(name: string, changes: Partial<WorkerSpec> = {}): WorkerSpec {
  return { name, role: 'profile', port: 7001, config: 'c1', files: 'c1.t1', restarts: 0, restartReason: 'restart requested', enabled: true, idleAfterMs: 0, wakes: 0, lazy: false, ...changes };
}
