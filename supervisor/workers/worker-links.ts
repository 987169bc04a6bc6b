import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from '../../shared/runtime/logger.ts';
import {
  LineChannel,
  WorkerHello,
  WorkerProof,
  newNonce,
  proofMatches,
  proofOf,
  type WorkerState,
} from '../../shared/runtime/control-protocol.ts';
import { isSameProcess, type WorkerRecord } from './worker-records.ts';

/** A worker that proved who it is on the control channel. */
export interface Linked {
  channel: LineChannel;
  hello: WorkerHello;
  state: WorkerState;
}

const HANDSHAKE_MS = 5_000;

/** The supervisor's end of the control channel (docs/architecture.md, "Workers outlive the supervisor"):
 *  its Unix socket, which every worker dials. A worker is heard only after the handshake proves it holds the
 *  secret this supervisor gave it at its spawn, or — for a worker an earlier supervisor started — the secret
 *  in that worker's record, from the very process the record names (pid and start time). */
export class WorkerLinks {
  readonly #server: net.Server;
  readonly #log: Logger;
  /** Processes this supervisor spawned, by pid: their secret, and who waits for their link. */
  readonly #spawned = new Map<number, { secret: string; linked: (link: Linked) => void }>();
  /** Workers an earlier supervisor started, by name, while they may still be taken back. */
  readonly #recorded = new Map<string, { record: WorkerRecord; linked: (link: Linked) => void }>();

  constructor(log: Logger) {
    this.#server = net.createServer();
    this.#log = log;
    this.#server.on('connection', (socket) => void this.#handshake(new LineChannel(socket)));
  }

  /** Listens on `socketPath` (a stale file from a supervisor that was killed is replaced). The links expected
   *  before this are in place for the first worker that dials. */
  async listen(socketPath: string): Promise<void> {
    fs.rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
  }

  /** The link of a process just spawned with `secret`, when it dials. */
  expect(pid: number, secret: string, linked: (link: Linked) => void): () => void {
    this.#spawned.set(pid, { secret, linked });
    return () => this.#spawned.delete(pid);
  }

  /** The link of a worker an earlier supervisor started, if it dials while this is in place. */
  expectRecorded(record: WorkerRecord, linked: (link: Linked) => void): () => void {
    this.#recorded.set(record.name, { record, linked });
    return () => {
      if (this.#recorded.get(record.name)?.record === record) this.#recorded.delete(record.name);
    };
  }

  close(): Promise<void> {
    if (!this.#server.listening) return Promise.resolve();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Whose secret a hello asks about, if this supervisor knows it. */
  #secretFor(hello: WorkerHello): { secret: string; linked: (link: Linked) => void } | null {
    const spawned = this.#spawned.get(hello.pid);
    if (spawned) return spawned;
    const recorded = this.#recorded.get(hello.name);
    if (recorded && recorded.record.pid === hello.pid && isSameProcess(hello.pid, recorded.record.proc_start)) {
      return { secret: recorded.record.secret, linked: recorded.linked };
    }
    return null;
  }

  async #handshake(channel: LineChannel): Promise<void> {
    const hello = WorkerHello.safeParse(await channel.next(HANDSHAKE_MS));
    const known = hello.success ? this.#secretFor(hello.data) : null;
    if (!hello.success || !known) {
      if (hello.success) this.#log.warn({ name: hello.data.name, worker_pid: hello.data.pid }, 'a process that is not one of this supervisor\'s workers dialled its control socket; refused');
      channel.socket.destroy();
      return;
    }
    const nonce = newNonce();
    channel.send({ type: 'proof', proof: proofOf(known.secret, 'supervisor', hello.data.nonce), nonce });
    const proof = WorkerProof.safeParse(await channel.next(HANDSHAKE_MS));
    if (!proof.success || !proofMatches(known.secret, 'worker', nonce, proof.data.proof)) {
      this.#log.warn({ name: hello.data.name, worker_pid: hello.data.pid }, 'a process did not prove it is the worker it said it was; refused');
      channel.socket.destroy();
      return;
    }
    known.linked({ channel, hello: hello.data, state: proof.data.state });
  }
}
