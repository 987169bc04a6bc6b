// Log lines as a person reads them on the pages: time, level, message, the other fields as key=value, an
// error's message (not its stack), a repeated line once with its count, and non-JSON lines as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readableLines } from '../../supervisor/web/readable-lines.ts';

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: Date.UTC(2026, 11, 1, 9, 5, 7), pid: 12, handle: 'a', ...fields });

test('time, level, message and fields; the quiet fields left out', () => {
  const [shown] = readableLines([line({ level: 40, msg: 'could not sign in', error: 'mis_login_failed', status: 401 })]);
  assert.deepEqual(shown, { time: '09:05:07', at: '2026-12-01T09:05:07.000Z', level: 'warn', text: 'could not sign in error=mis_login_failed status=401', count: 1 });
});

test('an error shows its message, never its stack', () => {
  const [shown] = readableLines([line({ level: 50, msg: 'request failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x.js:1:1' } })]);
  assert.equal(shown!.text, 'request failed err=boom');
  assert.equal(shown!.level, 'error');
});

test('the same line again and again is one line with its count; a different one starts a new line', () => {
  const same = line({ msg: 'port in use', port: 65535 });
  const shown = readableLines([same, same, same, line({ msg: 'exited', code: 75 }), same]);
  assert.deepEqual(shown.map((l) => [l.text, l.count]), [
    ['port in use port=65535', 3],
    ['exited code=75', 1],
    ['port in use port=65535', 1],
  ]);
});

test('a line that is not JSON is shown as it is', () => {
  assert.deepEqual(readableLines(['Segmentation fault (core dumped)']), [{ time: '', at: null, level: 'info', text: 'Segmentation fault (core dumped)', count: 1 }]);
});
