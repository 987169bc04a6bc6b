import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { SpareWorkers } from '../../supervisor/workers/spare-workers.ts';
import { createLogger } from '../../shared/runtime/logger.ts';
import { waitFor } from '../helpers/processes.ts';

const silent = createLogger({ level: 'silent' });

/** A stand-in for a spare's process: alive until killed or made to exit. */
class FakeChild extends EventEmitter {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  connected = true;
  killedWith: string | null = null;
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.killedWith = signal;
    this.exit(null, signal);
    return true;
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.exitCode = code;
    this.signalCode = signal;
    this.connected = false;
    this.emit('exit', code, signal);
  }
}

function pool(options: { always: boolean; lingerMs?: number }) {
  const launched: FakeChild[] = [];
  const spares = new SpareWorkers({
    launch: () => {
      const child = new FakeChild();
      launched.push(child);
      return child as unknown as ChildProcess;
    },
    log: silent,
    ...options,
  });
  return { spares, launched };
}

test('idle stop on: one spare at all times; taking it makes the next', () => {
  const { spares, launched } = pool({ always: true });
  assert.equal(launched.length, 1, 'one is made at once');
  const first = spares.take();
  assert.equal(first, launched[0]);
  assert.equal(launched.length, 2, 'the next is made when one is taken');
  assert.equal(spares.take(), launched[1]);
  spares.close();
  assert.equal(launched[2]!.killedWith, 'SIGKILL', 'closing kills the spare that is left');
  assert.equal(launched[0]!.killedWith, null, 'a spare that became a worker is not the pool\'s to kill');
});

test('idle stop off: no spare until a worker exits; then one, taken by the next start or let go unused', async () => {
  const { spares, launched } = pool({ always: false, lingerMs: 30 });
  assert.equal(launched.length, 0, 'a quiet system pays for none');
  assert.equal(spares.take(), null, 'a start spawns its own worker');
  assert.equal(launched.length, 0, '… and makes no spare (a cold start is bound by CPU)');
  spares.soon(); // a worker exited (a crash waits out its backoff)
  assert.equal(launched.length, 1);
  await waitFor('the unused spare to be let go', () => launched[0]!.killedWith === 'SIGTERM', 2000);
  spares.soon();
  assert.equal(launched.length, 2);
  assert.equal(spares.take(), launched[1], 'the start after the backoff takes it');
  assert.equal(launched.length, 2, 'and makes no other');
  spares.close();
});

test('a spare that died is never handed out, and is not made again by its own death', () => {
  const { spares, launched } = pool({ always: true });
  launched[0]!.exit(1);
  assert.equal(launched.length, 1, 'a spare that dies is not replaced from its exit (a broken build would loop)');
  assert.equal(spares.take(), null, 'nothing to take: the start spawns its own worker');
  assert.equal(launched.length, 2, 'the start makes a new spare');
  launched[1]!.connected = false; // its supervisor link is gone: it is leaving
  assert.equal(spares.take(), null, 'a spare without its IPC channel is not handed out');
  assert.equal(launched[1]!.killedWith, 'SIGKILL', '… and is killed');
  spares.close();
  assert.equal(launched.at(-1)!.killedWith, 'SIGKILL');
  assert.equal(spares.take(), null, 'closed: none is made any more');
});
