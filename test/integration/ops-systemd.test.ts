// The systemd unit (deploy/tat-mis.service): systemd itself accepts it without a single warning,
// with its socket, and the settings that make restarting, stopping and healing work (KillMode=process, a TimeoutStopSec above the drain,
// Restart=on-failure) are there, without the hardening options that break Chrome or V8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';
import { requireIntegration } from '../helpers/integration.ts';
import { run, toolAvailability } from '../helpers/ops.ts';

const SOCKET_UNIT = path.join(PROJECT_ROOT, 'deploy', 'tat-mis.socket');
const UNIT = path.join(PROJECT_ROOT, 'deploy', 'tat-mis.service');
const systemdAnalyze = toolAvailability('systemd-analyze', ['--version']);

type Unit = Map<string, { key: string; value: string; line: number }[]>;

/** `[Section]` → its `Key=value` entries in order (repeated keys kept), comments and blank lines skipped. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  let pending = '';
  let pendingLine = 0;
  text.split('\n').forEach((raw, index) => {
    let line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#') || line.startsWith(';'))) return;
    if (pending) line = `${pending} ${line}`;
    const start = pending ? pendingLine : index + 1;
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1).trim();
      pendingLine = start;
      return;
    }
    pending = '';
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      if (!unit.has(section)) unit.set(section, []);
      return;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `line ${start} is not Key=value: ${line}`);
    assert.ok(section, `line ${start} is outside a section`);
    unit.get(section)!.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: start });
  });
  return unit;
}

function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter((e) => e.key === key).map((e) => e.value);
}

/** The last assignment wins in systemd; an empty assignment resets a list. */
function last(unit: Unit, section: string, key: string): string | undefined {
  return values(unit, section, key).at(-1);
}

/** A systemd time span in seconds: `20`, `20s`, `1min 30s`, `500ms`. */
function seconds(span: string): number {
  if (/^\d+(\.\d+)?$/.test(span)) return Number(span);
  const units: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, sec: 1, second: 1, seconds: 1, m: 60, min: 60, minute: 60, minutes: 60, h: 3600, hr: 3600, hour: 3600, hours: 3600 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)/g;
  let consumed = '';
  for (let m = re.exec(span); m; m = re.exec(span)) {
    const factor = units[m[2]!];
    assert.ok(factor !== undefined, `unknown time unit "${m[2]}" in "${span}"`);
    total += Number(m[1]) * factor;
    consumed += m[0];
  }
  assert.equal(consumed.replace(/\s/g, ''), span.replace(/\s/g, ''), `cannot read the time span "${span}"`);
  return total;
}

/** `Environment=` lines hold one or more `KEY=value` words (optionally quoted). */
function environment(unit: Unit): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of values(unit, 'Service', 'Environment')) {
    for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) {
      const word = m[1] ?? m[2]!;
      const eq = word.indexOf('=');
      if (eq > 0) env.set(word.slice(0, eq), word.slice(eq + 1));
    }
  }
  return env;
}

test('systemd-analyze verify accepts the unit without a warning', async (t) => {
  if (!requireIntegration(t, 'systemd-analyze', systemdAnalyze.available, systemdAnalyze.reason)) return;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-systemd-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  // Installed as /opt/tat-mis; here the project is elsewhere, so ExecStart and WorkingDirectory must exist.
  const text = (await fs.readFile(UNIT, 'utf8')).replaceAll('/opt/tat-mis', PROJECT_ROOT);
  assert.ok(!text.includes('/opt/tat-mis'));
  const file = path.join(dir, 'tat-mis.service');
  await fs.writeFile(file, text);
  // Its socket beside it, as installed: the service requires it.
  const socketFile = path.join(dir, 'tat-mis.socket');
  await fs.copyFile(SOCKET_UNIT, socketFile);

  const result = await run('systemd-analyze', ['verify', socketFile, file], { timeoutMs: 30_000 });
  const output = `${result.stdout}\n${result.stderr}`;
  // Other units of this machine may produce noise; lines about ours may not (warnings are failures too).
  const ours = output.split('\n').filter((l) => l.includes(file) || l.includes('tat-mis.service') || l.includes('tat-mis'));
  assert.deepEqual(ours, [], `systemd-analyze verify complained about the unit:\n${output}`);
  assert.equal(result.code, 0, `systemd-analyze verify exited ${result.code}:\n${output}`);
});

test('the unit stops, restarts and hardens the way the supervisor needs', async () => {
  const unit = parseUnit(await fs.readFile(UNIT, 'utf8'));
  for (const section of ['Unit', 'Service', 'Install']) assert.ok(unit.has(section), `[${section}] is missing`);

  // Restarting and stopping: SIGTERM to the supervisor only; its workers stay in the cgroup for the next
  // supervisor (or stop by themselves after ORPHAN_TIMEOUT_MS), and the runtime folder that lets the next
  // supervisor find them is kept across a restart.
  assert.equal(last(unit, 'Service', 'KillMode'), 'process');
  assert.equal(last(unit, 'Service', 'RuntimeDirectory'), 'tat-mis');
  assert.equal(last(unit, 'Service', 'RuntimeDirectoryPreserve'), 'restart');
  assert.equal(last(unit, 'Service', 'RuntimeDirectoryMode'), '0700');
  // systemd holds the listening socket (no connection refused during a restart).
  assert.ok(values(unit, 'Unit', 'Requires').join(' ').includes('tat-mis.socket'), 'Requires=tat-mis.socket');
  const socket = parseUnit(await fs.readFile(SOCKET_UNIT, 'utf8'));
  assert.match(last(socket, 'Socket', 'ListenStream') ?? '', /^127\.0\.0\.1:\d+$/, 'the socket listens on loopback');
  assert.equal(last(socket, 'Unit', 'PartOf'), 'tat-mis.service');
  const killSignal = last(unit, 'Service', 'KillSignal');
  assert.ok(killSignal === undefined || killSignal === 'SIGTERM' || killSignal === 'SIGINT', `KillSignal=${killSignal}: the supervisor drains on SIGTERM or SIGINT only`);
  const env = environment(unit);
  const stopTimeoutMs = Number(env.get('STOP_TIMEOUT_MS') ?? 10_000);
  assert.ok(Number.isInteger(stopTimeoutMs) && stopTimeoutMs > 0, `STOP_TIMEOUT_MS=${env.get('STOP_TIMEOUT_MS')}`);
  const timeoutStop = last(unit, 'Service', 'TimeoutStopSec') ?? last(unit, 'Service', 'TimeoutSec');
  assert.ok(timeoutStop, 'TimeoutStopSec is not set (the default 90 s hides a hung stop; set it above the drain)');
  assert.ok(
    seconds(timeoutStop) > stopTimeoutMs / 1000 + 2,
    `TimeoutStopSec=${timeoutStop} must exceed STOP_TIMEOUT_MS/1000 + 2 = ${stopTimeoutMs / 1000 + 2} s, or systemd SIGKILLs a supervisor still draining`,
  );

  // Healing the supervisor itself.
  assert.equal(last(unit, 'Service', 'Restart'), 'on-failure');
  const restartSec = last(unit, 'Service', 'RestartSec');
  assert.ok(restartSec, 'RestartSec is not set');
  assert.ok(seconds(restartSec) > 0, `RestartSec=${restartSec}`);

  // Who and with what settings.
  const user = last(unit, 'Service', 'User');
  assert.ok(user && user !== 'root', `User=${user}: run as a dedicated user`);
  assert.ok(values(unit, 'Service', 'EnvironmentFile').length > 0, 'EnvironmentFile= is missing');
  assert.ok(values(unit, 'Service', 'Environment').length > 0, 'Environment= is missing');
  assert.ok(env.has('TAT_CONFIG_DIR'), 'Environment= should set TAT_CONFIG_DIR (the project dir is read-only under ProtectSystem)');
  const execStart = last(unit, 'Service', 'ExecStart');
  assert.ok(execStart?.includes('scripts/start.mjs supervisor'), `ExecStart=${execStart} should run the supervisor as npm start does`);
  assert.ok(/node_modules\/node\/bin\/node\s/.test(execStart!), `ExecStart=${execStart} should run the project's Node 22`);

  // Hardening that breaks Chrome (user namespaces for its sandbox) or V8 (its JIT needs W+X pages).
  for (const key of ['MemoryDenyWriteExecute', 'RestrictNamespaces']) {
    for (const section of unit.keys()) {
      const value = last(unit, section, key);
      assert.ok(value === undefined || /^(no|false|0|off)$/i.test(value), `${key}=${value} in [${section}] breaks ${key === 'MemoryDenyWriteExecute' ? "V8's JIT" : "Chrome's sandbox"}`);
    }
  }

  // The config dir the unit points at must be writable under the sandboxing it sets.
  const configDir = env.get('TAT_CONFIG_DIR')!;
  const protectSystem = last(unit, 'Service', 'ProtectSystem');
  if (protectSystem === 'strict') {
    const writable = [
      ...values(unit, 'Service', 'ReadWritePaths').flatMap((v) => v.split(/\s+/)),
      ...values(unit, 'Service', 'StateDirectory').flatMap((v) => v.split(/\s+/).map((d) => `/var/lib/${d}`)),
    ].map((p) => p.replace(/^[-+]/, ''));
    assert.ok(
      writable.some((p) => configDir === p || configDir.startsWith(`${p}/`)),
      `TAT_CONFIG_DIR=${configDir} is read-only under ProtectSystem=strict (writable: ${writable.join(' ')})`,
    );
  }
});
