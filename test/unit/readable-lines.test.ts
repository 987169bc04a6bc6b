// Log lines as a person reads them on every page (the logs view, the dashboard, the landing pages): time,
// level, message, the other fields as key=value (nested ones as a.b), an error's message with its stack apart,
// a repeated line once with its count, and non-JSON lines as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readableLine, readableLines } from '../../supervisor/web/readable-lines.ts';

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: Date.UTC(2026, 11, 1, 9, 5, 7), pid: 12, handle: 'a', ...fields });

test('time, level, message and fields; the quiet fields left out', () => {
  const [shown] = readableLines([line({ level: 40, msg: 'could not sign in', error: 'mis_login_failed', status: 401 })]);
  assert.deepEqual(shown, {
    at: '2026-12-01T09:05:07.000Z',
    time: '09:05:07',
    level: 'warn',
    msg: 'could not sign in',
    fields: [['error', 'mis_login_failed'], ['status', '401']],
    stack: null,
    text: 'could not sign in error=mis_login_failed status=401',
    pid: 12,
    count: 1,
  });
});

test('an error shows its message, its stack apart; nested fields as a.b; strings with spaces quoted', () => {
  const shown = readableLine(line({ level: 50, msg: 'request failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x.js:1:1' }, config: { mis_password: '[redacted]', url: 'a b' } }));
  assert.equal(shown.text, 'request failed err=boom config.mis_password=[redacted] config.url="a b"');
  assert.equal(shown.stack, 'Error: boom\n    at x.js:1:1');
  assert.equal(shown.level, 'error');
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
  assert.deepEqual(readableLines(['Segmentation fault (core dumped)']), [{ at: null, time: '', level: 'info', msg: 'Segmentation fault (core dumped)', fields: [], stack: null, text: 'Segmentation fault (core dumped)', pid: null, count: 1 }]);
});
