import net from 'node:net';
import {
  LineChannel,
  PROTOCOL,
  SupervisorProof,
  newNonce,
  proofMatches,
  proofOf,
  type SupervisorFrame,
  type WorkerFrame,
  type WorkerState,
} from '../../shared/runtime/control-protocol.ts';
import type { WorkerMessage } from '../../shared/runtime/ipc.ts';

export interface SupervisorLinkOptions {
  /** The supervisor's control socket. */
  socketPath: string;
  name: string;
  /** Given by the supervisor that started this worker; any supervisor that proves it knows it may adopt it. */
  secret: string;
  build: string;
  settings: string;
  /** With no supervisor for this long, the worker stops by itself. */
  orphanTimeoutMs: number;
  /** When its process started (ms since the epoch). */
  startedAt: number;
  /** Its recent log lines. */
  lines(): string[];
  /** A supervisor took this worker (`again`: not the first one, which spawned it). */
  onLinked(again: boolean): void;
  onShutdown(): void;
  onSecret(secret: string): void;
  onOrphaned(): void;
}

const REDIAL_MS = 200;
const HANDSHAKE_MS = 5_000;

/** The worker's end of the control channel: it dials the supervisor, proves who it is, and dials again
 *  whenever the supervisor goes, until a supervisor takes it back or `orphanTimeoutMs` passes without one.
 *  Frames sent while no supervisor listens are dropped: a supervisor that connects gets the whole state. */
export class SupervisorLink {
  readonly #o: SupervisorLinkOptions;
  #channel: LineChannel | null = null;
  #closed = false;
  /** What the worker said so far that still holds: a supervisor that connects is told all of it. */
  readonly #state: Omit<WorkerState, 'lines' | 'started_at'> = { listening: null, work: [], restore: null, browser_pid: null };
  #orphanTimer: NodeJS.Timeout | undefined;
  #links = 0;
  #redialTimer: NodeJS.Timeout | undefined;

  constructor(options: SupervisorLinkOptions) {
    this.#o = options;
    this.#startOrphanTimer();
    this.#dial();
  }

  /** A supervisor has taken this worker (the handshake passed) and is still there. */
  get connected(): boolean {
    return this.#channel !== null;
  }

  /** A message for the supervisor: kept as state, and sent if one is there. */
  notify(message: WorkerMessage): void {
    if (message.type === 'ready') this.#state.listening = { port: message.port, socket: message.socket ?? null };
    else if (message.type === 'work') this.#state.work = message.running;
    else if (message.type === 'restore') this.#state.restore = { state: message.state, failed: message.failed };
    else if (message.type === 'browser') this.#state.browser_pid = message.pid;
    this.send(message);
  }

  send(frame: WorkerFrame): void {
    this.#channel?.send(frame);
  }

  /** No more dialling (the worker is stopping). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#orphanTimer);
    clearTimeout(this.#redialTimer);
    this.#channel?.close();
    this.#channel = null;
  }

  #startOrphanTimer(): void {
    clearTimeout(this.#orphanTimer);
    this.#orphanTimer = setTimeout(() => {
      if (!this.#closed && !this.#channel) this.#o.onOrphaned();
    }, this.#o.orphanTimeoutMs);
    this.#orphanTimer.unref();
  }

  #dial(): void {
    if (this.#closed) return;
    const socket = net.connect(this.#o.socketPath);
    socket.once('connect', () => void this.#handshake(new LineChannel(socket)));
    socket.once('error', () => {});
    socket.once('close', () => {
      if (this.#channel?.socket === socket) {
        this.#channel = null;
        this.#startOrphanTimer();
      }
      if (!this.#closed && !this.#channel) this.#redialTimer = setTimeout(() => this.#dial(), REDIAL_MS);
    });
  }

  async #handshake(channel: LineChannel): Promise<void> {
    const nonce = newNonce();
    const { name, secret, build, settings } = this.#o;
    channel.send({ type: 'hello', name, pid: process.pid, protocol: PROTOCOL, build, settings, nonce });
    const answer = SupervisorProof.safeParse(await channel.next(HANDSHAKE_MS));
    // Only a supervisor that knows this worker's secret is told anything.
    if (!answer.success || !proofMatches(secret, 'supervisor', nonce, answer.data.proof)) {
      channel.socket.destroy();
      return;
    }
    channel.send({ type: 'proof', proof: proofOf(secret, 'worker', answer.data.nonce), state: { ...this.#state, started_at: this.#o.startedAt, lines: this.#o.lines() } });
    if (this.#closed || channel.socket.destroyed) return;
    this.#channel = channel;
    clearTimeout(this.#orphanTimer);
    this.#o.onLinked(this.#links++ > 0);
    channel.onValue((value) => this.#onFrame(value as SupervisorFrame));
  }

  #onFrame(frame: SupervisorFrame): void {
    if (frame?.type === 'shutdown') this.#o.onShutdown();
    else if (frame?.type === 'secret' && typeof frame.secret === 'string') this.#o.onSecret(frame.secret);
  }
}
