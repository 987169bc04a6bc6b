import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StartGate } from '../../supervisor/start-gate.ts';

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
  const leave = await gate.enter();
  leave(); // all slots free again: entering does not wait
});
