import type { Logger } from '../../shared/runtime/logger.ts';
import type { PortMoved, Problem } from './worker-status.ts';
import { handleOf, type WorkerSpec } from './worker-spec.ts';

/** Port moves in a row without becoming ready before a taken port counts as a crash again (a port that looks
 *  free to the probe but not to the worker must not walk through every port). */
const MAX_PORT_MOVES = 3;

/** Where ports are kept: the next free port for a worker whose port is taken, already saved (`saved`: in
 *  ports.json), or `null` when there is none. */
export type PortMover = (name: string, taken: number) => Promise<{ port: number; saved: boolean } | null>;

/** A worker whose port another program holds is moved to another port instead of crashing (README,
 *  "Files under the config dir"): which exits are such, the move, and the spec it leaves. */
export class PortMoves {
  readonly #mover: PortMover | undefined;
  readonly #log: Logger;
  #count = 0;
  #moved: PortMoved | null = null;

  constructor(mover: PortMover | undefined, log: Logger) {
    this.#mover = mover;
    this.#log = log;
  }

  /** The latest move, for the status. */
  get moved(): PortMoved | null {
    return this.#moved;
  }

  /** A start that got as far as listening, or a new start asked for: the count begins again. */
  reset(): void {
    this.#count = 0;
  }

  /** The port a start could not listen on because another program holds it, when the worker may move away
   *  from it; `null` otherwise (the exit is a crash like any other). */
  taken(spec: WorkerSpec, problem: Problem | null): number | null {
    if (!this.#mover || spec.port === 0 || problem?.code !== 'port_conflict' || this.#count >= MAX_PORT_MOVES) return null;
    return problem.port ?? spec.port;
  }

  /** Asks for another port: the spec to start again with, or the problem to show when there is none. */
  async move(spec: WorkerSpec, taken: number): Promise<{ spec: WorkerSpec } | { problem: Problem }> {
    this.#count += 1;
    const handle = handleOf(spec);
    let moved: { port: number; saved: boolean } | null = null;
    try {
      moved = await this.#mover!(spec.name, taken);
    } catch (error) {
      this.#log.error({ err: error, handle, port: taken }, 'cannot move the worker to another port');
    }
    if (moved === null || moved.port === taken) {
      return { problem: { code: 'port_conflict', port: taken, message: `port ${taken} is in use by another program and no free port was found to move to: stop that program, or give the profile another port in ports.json and restart it` } };
    }
    const where = moved.saved ? 'saved in ports.json' : 'until the supervisor restarts: ports.json is damaged, fix it to keep it';
    const message = `Port ${taken} was taken by another program; it now uses ${moved.port} (${where}).`;
    this.#moved = { from: taken, to: moved.port, at: new Date().toISOString(), saved: moved.saved, message };
    this.#log.warn({ handle, from: taken, to: moved.port }, message);
    return { spec: { ...spec, port: moved.port } };
  }

  /** A spec from a pass that read the ports before a move still has the port moved away from: it keeps the
   *  new one (the registry never gives the old one back). */
  keep(next: WorkerSpec, current: WorkerSpec): WorkerSpec {
    const moved = this.#moved;
    return moved && next.port === moved.from && current.port === moved.to ? { ...next, port: moved.to } : next;
  }
}
