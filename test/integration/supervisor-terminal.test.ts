// The supervisor on a real terminal (a pseudo-terminal from `script`, Debian's bsdutils): its own lines and its
// workers' come out as pino-pretty's readable lines (time, level, the worker's handle, the message), not
// JSON; piped (as under pm2 or journald) they are JSON lines, which every other suite reads. Ctrl-C there
// stops everything at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { entryArgs, isRunning, startProcess, waitFor } from '../helpers/processes.ts';
import { processesWithEnv } from '../helpers/process-table.ts';
import { freePortRange } from '../helpers/ports.ts';

const SCRIPT = '/usr/bin/script';
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

test('on a terminal the log is readable lines, nothing is JSON, and Ctrl-C stops the workers too', async (t) => {
  if (!requireIntegration(t, 'script (bsdutils)', fs.existsSync(SCRIPT), `${SCRIPT} is missing (apt-get install bsdutils)`)) return;
  const config = await makeConfigDir({ profiles: ['nick.tat'] });
  t.after(() => config.remove());
  const port = await freePortRange(3);
  const command = [process.execPath, ...entryArgs('supervisor/main.ts')].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TAT_CONFIG_DIR: config.dir, PORT: String(port), WORKER_BASE_PORT: String(port + 1), NO_COLOR: '1' };
  delete env.LOG_FORMAT;
  const proc = startProcess(SCRIPT, ['-qfec', command, '/dev/null'], { env, stdin: 'pipe' });
  const { child, output } = proc;
  t.after(() => proc.kill());

  const line = await waitFor('the worker\'s "listening" line', () => output().split(/\r?\n/).find((l) => l.includes('worker for "nick.tat" listening on')), 30_000);
  assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[nick\.tat\] worker for "nick\.tat" listening on/, line);
  assert.match(output(), /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: supervisor listening on /m, 'its own lines too');
  // Ctrl-C on the terminal: the whole system stops at once, workers included.
  const running = processesWithEnv('TAT_CONFIG_DIR', config.dir).map((p) => p.pid);
  assert.ok(running.length >= 2, 'the supervisor and its worker run');
  child.stdin!.write('\x03');
  await waitFor('the supervisor to stop', () => child.exitCode !== null || child.signalCode !== null, 20_000);
  await waitFor('the worker to stop with it', () => running.every((pid) => !isRunning(pid)), 5000);
  const lines = output().split(/\r?\n/).filter((l) => l.trim());
  assert.ok(lines.length > 2, output());
  assert.deepEqual(lines.filter((l) => l.trimStart().startsWith('{')), [], 'no JSON line on a terminal');
});
