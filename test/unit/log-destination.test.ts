// The supervisor's terminal output: JSON lines unless stdout is a terminal (or LOG_FORMAT says otherwise);
// pretty lines are pino-pretty's, written synchronously, and pino-pretty is not even loaded for JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger, logDestination, logFormat } from '../../shared/runtime/logger.ts';

const LOGGER = fileURLToPath(new URL('../../shared/runtime/logger.ts', import.meta.url));

function sink() {
  const written: string[] = [];
  return { written, out: { write: (s: string) => void written.push(s) } };
}

test('the format: pretty on a terminal, JSON otherwise; LOG_FORMAT forces either; anything else is ignored', () => {
  assert.equal(logFormat({ isTTY: true }), 'pretty');
  assert.equal(logFormat({ isTTY: false }), 'json');
  assert.equal(logFormat({ isTTY: true, format: 'json' }), 'json');
  assert.equal(logFormat({ isTTY: false, format: 'pretty' }), 'pretty');
  assert.equal(logFormat({ isTTY: false, format: 'fancy' }), 'json');
  assert.equal(logFormat({ isTTY: true, format: '' }), 'pretty');
});

test('JSON: the destination is the output itself, so lines are exactly as before', () => {
  const { out, written } = sink();
  const destination = logDestination({ isTTY: false, out });
  assert.equal(destination, out);
  createLogger({ name: 'supervisor', destination }).info({ port: 5000 }, 'supervisor listening');
  const line = JSON.parse(written[0]!);
  assert.equal(line.msg, 'supervisor listening');
  assert.equal(line.port, 5000);
});

test('JSON: pino-pretty is not loaded at all', () => {
  const script = `
    const { logDestination } = await import(${JSON.stringify(LOGGER)});
    const { createRequire } = await import('node:module');
    logDestination({ isTTY: false, out: { write() {} } });
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('pino-pretty'));
    process.stdout.write(JSON.stringify(loaded));`;
  const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  assert.deepEqual(loaded, []);
});

test('pretty: a JSON line becomes a readable line with the time, level, message and the worker\'s handle', () => {
  const { out, written } = sink();
  const destination = logDestination({ isTTY: true, out, colorize: false });
  assert.notEqual(destination, out);
  destination.write(`${JSON.stringify({ level: 40, time: '2025-01-02T10:11:12.345Z', pid: 77, handle: 'nick.tat', msg: 'the MIS could not be opened', status: 502 })}\n`);
  assert.equal(written.length, 1, 'written at once, synchronously');
  const text = written[0]!;
  assert.throws(() => JSON.parse(text), 'not JSON');
  assert.match(text, /WARN/);
  assert.match(text, /\[nick\.tat\] the MIS could not be opened/);
  assert.match(text, /status: 502/);
  assert.match(text, /\d\d:\d\d:\d\d\.\d{3}/);
  assert.ok(!text.includes('"level"'), text);
});

test('pretty: the supervisor\'s own lines through its logger, and a line that is not JSON passes as it is', () => {
  const { out, written } = sink();
  const destination = logDestination({ isTTY: false, format: 'pretty', out, colorize: false });
  createLogger({ name: 'supervisor', destination }).error({ password: 'Hunter2-secret' }, 'stopping');
  assert.match(written[0]!, /ERROR.*stopping/);
  assert.match(written[0]!, /\[redacted\]/);
  assert.ok(!written[0]!.includes('Hunter2'));
  destination.write('plain text\n');
  assert.match(written[1]!, /^plain text/);
});

test('pretty: colourised when asked', () => {
  const { out, written } = sink();
  logDestination({ isTTY: true, out, colorize: true }).write(`${JSON.stringify({ level: 50, time: Date.now(), msg: 'boom' })}\n`);
  assert.match(written[0]!, /\u001b\[\d+m/);
});
