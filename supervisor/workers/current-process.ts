import type { UpstreamTarget } from '../proxy/admission.ts';
import type { LogRing } from './log-ring.ts';
import type { StartGate } from './start-gate.ts';
import type { Exit, ProcessEvent, ProcessHooks, RunningProcess, Spawner } from './worker-process.ts';
import type { WorkerSpec } from './worker-spec.ts';

/** What the process a lifecycle runs now says and does; an older process's words never reach it. */
export interface ProcessCallbacks {
  onEvent(event: Exclude<ProcessEvent, { kind: 'ready' }>): void;
  /** Listening (its `ready`): the address is known. */
  onListening(proc: RunningProcess): void;
  /** Not ready within the start timeout. */
  onTimedOut(proc: RunningProcess): void;
  /** Gone: `expected` when the lifecycle stopped it. */
  onExit(proc: RunningProcess, exit: Exit, expected: boolean): void;
}

/** The process a worker's lifecycle runs now. Each spawn is a new generation whose events, `ready` and exit
 *  alone count. It holds the start slot (`StartGate`) until its process listens or goes, times the start,
 *  keeps the process's log lines for the logs view, and knows where it listens and whether its exit was
 *  asked for. */
export interface CurrentProcessOptions {
  spawn: Spawner;
  /** Where its log lines go (the worker wrote them to the operator's log itself): the logs view's ring. */
  ring: LogRing;
  startGate: StartGate | undefined;
  /** `onTimedOut` when it did not say `ready` within this. */
  startTimeoutMs: number;
}

export class CurrentProcess {
  readonly #o: CurrentProcessOptions;
  #proc: RunningProcess | null = null;
  #generation = 0;
  #address: { port: number; socket: string | null } | null = null;
  #startedAt: Date | null = null;
  #timer: NodeJS.Timeout | undefined;
  #leaveGate: () => void = () => {};
  readonly #expected = new WeakSet<RunningProcess>();

  constructor(options: CurrentProcessOptions) {
    this.#o = options;
  }

  get proc(): RunningProcess | null {
    return this.#proc;
  }

  get running(): boolean {
    return this.#proc?.running ?? false;
  }

  get pid(): number | null {
    return this.#proc?.running ? this.#proc.pid : null;
  }

  /** Counts processes: a request the old one refused asks admission for a later generation. */
  get generation(): number {
    return this.#generation;
  }

  /** The port it listens on, once it said so. */
  get port(): number | null {
    return this.#address?.port ?? null;
  }

  /** When it became ready (wall clock, for the status). */
  get startedAt(): Date | null {
    return this.#startedAt;
  }

  /** Waits for a start slot, then spawns the process for `spec`. */
  async spawn(spec: WorkerSpec, callbacks: ProcessCallbacks): Promise<void> {
    this.#address = null;
    this.#leaveGate();
    this.#leaveGate = (await this.#o.startGate?.enter()) ?? (() => {});
    this.#begin(spec, callbacks, (hooks) => this.#o.spawn(spec, hooks));
  }

  /** Takes a process an earlier supervisor started (it says `ready` at once if it listens): no start slot. */
  adopt(spec: WorkerSpec, callbacks: ProcessCallbacks, take: (hooks: ProcessHooks) => RunningProcess): void {
    this.#address = null;
    this.#leaveGate();
    this.#begin(spec, callbacks, take);
  }

  #begin(spec: WorkerSpec, callbacks: ProcessCallbacks, start: (hooks: ProcessHooks) => RunningProcess): void {
    const generation = ++this.#generation;
    const mine = () => generation === this.#generation;
    const proc: RunningProcess = start({
      onEvent: (event) => {
        if (!mine()) return;
        if (event.kind !== 'ready') return callbacks.onEvent(event);
        // A process being stopped never becomes the one requests go to: a stop asked for during its start
        // (a recycle) is under way, and a request sent to it now would meet its closing server.
        if (proc !== this.#proc || this.#expected.has(proc)) return;
        this.#endStart();
        this.#address = { port: event.port || spec.port, socket: event.socket };
        // Its process's start, not this moment: an adopted worker has been up since then.
        this.#startedAt = new Date(Date.now() - (performance.now() - proc.startedAt));
        callbacks.onListening(proc);
      },
      onLine: (line) => {
        if (mine()) this.#o.ring.push(line);
      },
    });
    this.#proc = proc;
    this.#timer = setTimeout(() => mine() && callbacks.onTimedOut(proc), this.#o.startTimeoutMs);
    void proc.exited.then((exit) => {
      if (!mine()) return;
      this.#endStart();
      callbacks.onExit(proc, exit, this.#expected.has(proc));
    });
  }

  /** Where requests go: its Unix socket when it has one, else its TCP port (`port` until it says). */
  target(port: number): UpstreamTarget {
    const { port: listening, socket } = this.#address ?? { port, socket: null };
    return socket ? { socketPath: socket, host: '127.0.0.1', port: listening } : new URL(`http://127.0.0.1:${listening}`);
  }

  /** The lifecycle is stopping it: its exit is no crash, and its start is over. The process, if running. */
  expectExit(): RunningProcess | null {
    this.#endStart();
    if (!this.#proc?.running) return null;
    this.#expected.add(this.#proc);
    return this.#proc;
  }

  /** Its start is over (listening, gone, or being stopped): the timer ends, the start slot is free. */
  #endStart(): void {
    clearTimeout(this.#timer);
    this.#leaveGate();
    this.#leaveGate = () => {};
  }
}
