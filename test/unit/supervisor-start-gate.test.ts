import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StartGate } from '../../supervisor/workers/start-gate.ts';

test('the start gate lets at most `limit` starts run at once and hands slots over in order', async () => {
  const gate = new StartGate(2);
  const order: string[] = [];
  let running = 0;
  let most = 0;
  const start = async (name: string, ms: number) => {
    const leave = await gate.enter();
    running += 1;
    most = Math.max(most, running);
    order.push(name);
    await new Promise((r) => setTimeout(r, ms));
    running -= 1;
    leave();
    leave(); // leaving twice frees one slot only
  };
  await Promise.all([start('a', 30), start('b', 10), start('c', 5), start('d', 5), start('e', 5)]);
  assert.equal(most, 2);
  assert.deepEqual(order, ['a', 'b', 'c', 'd', 'e']);

  // all slots free again: `limit` entries get a slot at once (before the next turn of the event loop), and
  // only the one after them waits
  const WAITING = Symbol('still waiting');
  const soon = <T>(p: Promise<T>) => Promise.race([p, new Promise<typeof WAITING>((resolve) => setImmediate(() => resolve(WAITING)))]);
  const first = await soon(gate.enter());
  assert.equal(typeof first, 'function', 'entering waited although every slot was free');
  const second = await soon(gate.enter());
  assert.equal(typeof second, 'function', 'entering waited although a slot was free');
  const third = gate.enter();
  assert.equal(await soon(third), WAITING, 'a third entry got a slot while both were taken');
  (first as () => void)();
  assert.equal(typeof (await soon(third)), 'function', 'a freed slot was not handed over at once');
  (second as () => void)();
  (await third)();
});
