import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';

// The benchmarks are not part of `npm test`, but each runs once here at tiny size so they cannot rot.
test('every benchmark runs at tiny size and prints its table', { timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bench', 'run.ts'), '--tiny'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `bench failed:\n${err.slice(-3000)}`);
  for (const figure of [
    'throughput, direct',
    'throughput, supervisor',
    'throughput, configurable-http-proxy',
    'added latency p50',
    'upload supervisor ÷ direct',
    'worker start',
    'cold start',
    'idle worker RSS',
    'supervisor RSS',
    'first request to an idle-stopped worker',
    'IDLE_TIMEOUT_MS on: RSS of supervisor + workers',
    'switch',
    'recycles under 200 req/s: failed requests',
    'healing',
    "proxy's own CPU per request",
    "worker's CPU per request, GET /api/get-credentials",
    'one worker start, spawn → answers: wall / CPU',
    'CPU profile: the supervisor',
    'adoption of all',
  ]) {
    assert.ok(out.includes(figure), `the table lacks "${figure}":\n${out}`);
  }
  assert.match(out, /recycles under 200 req\/s: failed requests \| 0 /, 'a recycle under load failed requests');
  assert.match(out, /byte-identical/);
});
