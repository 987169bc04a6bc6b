import type { DestinationStream } from 'pino';

/** The most of one line the supervisor is sent (`control-protocol.ts` bounds a line, and a handshake). */
export const MAX_KEPT_CHARS = 8 * 1024;

/** Where a supervised worker's log lines go: its own output (the operator's log: the terminal, journald, or
 *  pm2's file, written by the worker itself so that no process in between can be gone), its recent lines
 *  (for a supervisor that connects later: the logs view shows what happened while none ran), and the
 *  supervisor, line by line, while one is there. */
export class LogTap implements DestinationStream {
  readonly #recent: string[] = [];
  readonly #max: number;
  readonly #out: DestinationStream;
  #forward: (line: string) => void = () => {};

  constructor(out: DestinationStream, max = 500) {
    this.#out = out;
    this.#max = max;
  }

  /** Each line from now on also goes to `forward`. */
  forwardTo(forward: (line: string) => void): void {
    this.#forward = forward;
  }

  get recent(): string[] {
    return [...this.#recent];
  }

  write(line: string): void {
    // The operator's log gets the whole line; the logs view a bounded one (a handshake carries 500 of them).
    const trimmed = line.trimEnd();
    const kept = trimmed.length > MAX_KEPT_CHARS ? `${trimmed.slice(0, MAX_KEPT_CHARS)}…` : trimmed;
    this.#recent.push(kept);
    if (this.#recent.length > this.#max) this.#recent.shift();
    this.#forward(kept);
    this.#out.write(line);
  }
}
