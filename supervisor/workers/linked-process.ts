import { isWorkerMessage, type WorkerMessage } from '../../shared/runtime/ipc.ts';
import type { SupervisorFrame, WorkerState } from '../../shared/runtime/control-protocol.ts';
import type { Linked } from './worker-links.ts';
import { descendants, killAll } from './process-tree.ts';

export interface Exit {
  code: number | null;
  signal: string | null;
}

/** What a worker process says, read from its control channel here and nowhere else: the lifecycle hears
 *  these, never the messages themselves. */
export type ProcessEvent =
  /** Listening: on its TCP port, and on a Unix socket when it has one. */
  | { kind: 'ready'; port: number; socket: string | null }
  /** It cannot run: why, for the dashboard (a taken port names the port). */
  | { kind: 'fatal'; code: string; message: string; port?: number }
  /** What it is in the middle of, each with the most it may take. */
  | { kind: 'work'; running: { name: string; limit_ms: number }[] }
  /** The restore of the profile's work after its start. */
  | { kind: 'restore'; state: 'restoring' | 'done'; failed: string[] }
  /** Someone asked it to make a profile the current one. */
  | { kind: 'switch'; handle: string; by: string }
  /** Its control channel is up: the build and settings it runs with (another supervisor's may differ). */
  | { kind: 'linked'; build: string; settings: string }
  /** Its Chrome started (pid) or went away (null). */
  | { kind: 'browser'; pid: number | null };

export interface ProcessHooks {
  onEvent(event: ProcessEvent): void;
  /** One of its log lines (JSON, redacted by the worker), as it writes it. */
  onLine(line: string): void;
}

/** One running worker process, as the lifecycle sees it. */
export interface RunningProcess {
  readonly pid: number;
  /** `performance.now()` at spawn (for an adopted worker: its spawn, as its record says). */
  readonly startedAt: number;
  readonly running: boolean;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** Its Chrome is open. */
  readonly browserOpen: boolean;
  /** Graceful stop; after `graceMs`, SIGKILL of it and everything it started. Resolves once it is gone. */
  stop(graceMs: number): Promise<Exit>;
  /** SIGKILL of it and everything it started, now. */
  kill(): void;
}

/** A message of the worker's control channel as the event it is. */
export function processEventOf(message: WorkerMessage): ProcessEvent {
  switch (message.type) {
    case 'ready':
      return { kind: 'ready', port: message.port, socket: message.socket ?? null };
    case 'fatal':
      return { kind: 'fatal', code: message.code, message: message.message, ...(message.port ? { port: message.port } : {}) };
    case 'work':
      return { kind: 'work', running: message.running };
    case 'restore':
      return { kind: 'restore', state: message.state, failed: message.failed };
    case 'switch':
      return { kind: 'switch', handle: message.handle, by: message.by };
    case 'browser':
      return { kind: 'browser', pid: message.pid };
  }
}

/** What both kinds of worker process share: the control channel once the worker dials, its Chrome, and
 *  the way a process and everything it started is stopped. */
export abstract class LinkedProcess implements RunningProcess {
  readonly pid: number;
  abstract readonly startedAt: number;
  abstract readonly exited: Promise<Exit>;
  abstract readonly running: boolean;
  protected readonly hooks: ProcessHooks;
  protected link: Linked | null = null;
  #browserPid: number | null = null;

  constructor(pid: number, hooks: ProcessHooks) {
    this.pid = pid;
    this.hooks = hooks;
  }

  get browserOpen(): boolean {
    return this.#browserPid !== null;
  }

  get browserPid(): number | null {
    return this.#browserPid;
  }

  /** The worker dialled and proved itself: what it had to say so far, then each frame as it comes.
   *  `replayLines`: whether its recent log lines are new here (not for the supervisor that spawned it: it
   *  had each line over IPC until the channel was up). */
  attach(link: Linked, secret: string, replayLines = true): void {
    this.link?.channel.close();
    this.link = link;
    this.hooks.onEvent({ kind: 'linked', build: link.hello.build, settings: link.hello.settings });
    this.#replay(link.state, replayLines);
    link.channel.send({ type: 'secret', secret } satisfies SupervisorFrame);
    link.channel.onValue((value) => {
      if ((value as { type?: unknown })?.type === 'log') {
        const line = (value as { line?: unknown }).line;
        if (typeof line === 'string') this.hooks.onLine(line);
        return;
      }
      if (isWorkerMessage(value)) this.#onMessage(value);
    });
    const closed = () => {
      if (this.link === link) this.link = null;
      this.linkClosed();
    };
    if (link.channel.socket.destroyed) closed();
    else link.channel.socket.once('close', closed);
  }

  /** Its control channel closed: the process may be going, or its supervisor changing. */
  protected linkClosed(): void {}

  protected send(frame: SupervisorFrame): void {
    this.link?.channel.send(frame);
  }

  #replay(state: WorkerState, lines: boolean): void {
    if (lines) for (const line of state.lines) this.hooks.onLine(line);
    this.#onMessage({ type: 'browser', pid: state.browser_pid });
    if (state.restore) this.#onMessage({ type: 'restore', ...state.restore });
    if (state.work.length > 0) this.#onMessage({ type: 'work', running: state.work });
    if (state.listening) this.#onMessage({ type: 'ready', port: state.listening.port, socket: state.listening.socket });
  }

  #onMessage(message: WorkerMessage): void {
    if (message.type === 'browser') this.#browserPid = message.pid;
    this.hooks.onEvent(processEventOf(message));
  }

  abstract stop(graceMs: number): Promise<Exit>;

  kill(): void {
    const tree = this.running ? descendants(this.pid) : [];
    killAll([this.pid, ...tree, ...(this.#browserPid === null ? [] : [this.#browserPid])]);
  }

  /** A worker that exited cleanly closed its Chrome; one that crashed or was killed could not. */
  protected killBrowser(): void {
    if (this.#browserPid !== null) killAll([this.#browserPid]);
    this.#browserPid = null;
  }

  /** Asks it to stop (the control channel, and SIGTERM); after `graceMs`, kills it and what it started. */
  protected async stopWithin(graceMs: number, signal: () => void): Promise<Exit> {
    this.send({ type: 'shutdown' });
    signal();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) this.kill();
    return this.exited;
  }
}
