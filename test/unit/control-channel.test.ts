// The control channel between the supervisor and its workers, in one process over a real Unix socket: only
// a process that proves it holds the secret its record names is taken back (not one that claims another's
// pid, not one without the secret), a worker proves nothing to a supervisor that does not know its secret,
// and a worker nobody takes stops by itself after its orphan timeout. Records name a process by pid and start
// time, which a reused pid does not share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../shared/runtime/logger.ts';
import { LineChannel, PROTOCOL, newNonce, proofOf } from '../../shared/runtime/control-protocol.ts';
import { WorkerLinks, type Linked } from '../../supervisor/workers/worker-links.ts';
import { isSameProcess, processStartTime, type WorkerRecord } from '../../supervisor/workers/worker-records.ts';
import { SupervisorLink } from '../../worker/control/supervisor-link.ts';
import { waitFor } from '../helpers/processes.ts';

const silent = createLogger({ level: 'silent' });
const SECRET = 'the-worker-secret-0123456789abcdef';

function record(changes: Partial<WorkerRecord> = {}): WorkerRecord {
  return { name: 'a', role: 'profile', pid: process.pid, proc_start: processStartTime(process.pid)!, secret: SECRET, started_at: Date.now(), port: 7001, config: 'c', files: 'f', restarts: 0, browser: null, ...changes };
}

async function supervisorEnd(t: import('node:test').TestContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tat-control-'));
  const socketPath = path.join(dir, 'control.sock');
  const links = new WorkerLinks(silent);
  await links.listen(socketPath);
  t.after(async () => {
    await links.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { links, socketPath };
}

/** Dials as a process that says it is worker `name` with `pid`, answering the supervisor's proof with `secret`;
 *  resolves with whether the supervisor kept the connection after that. */
async function dialAs(socketPath: string, hello: { name: string; pid: number }, secret: string): Promise<'refused' | 'kept'> {
  const channel = new LineChannel(net.connect(socketPath));
  const nonce = newNonce();
  channel.send({ type: 'hello', ...hello, protocol: PROTOCOL, build: 'b', settings: 's', nonce });
  const answer = (await channel.next(2000)) as { proof?: string; nonce?: string } | null;
  if (!answer?.nonce) return 'refused';
  channel.send({ type: 'proof', proof: proofOf(secret, 'worker', answer.nonce), state: { listening: null, started_at: Date.now(), work: [], restore: null, browser_pid: null, lines: [] } });
  const closed = await Promise.race([new Promise((resolve) => channel.socket.once('close', () => resolve(true))), new Promise((resolve) => setTimeout(() => resolve(false), 300))]);
  channel.socket.destroy();
  return closed ? 'refused' : 'kept';
}

test('a recorded worker is taken back only by the very process, with the secret', async (t) => {
  const { links, socketPath } = await supervisorEnd(t);
  const linked: Linked[] = [];
  links.expectRecorded(record(), (link) => linked.push(link));

  assert.equal(await dialAs(socketPath, { name: 'a', pid: process.pid }, 'a guessed secret 0123456789abcdef'), 'refused', 'without the secret');
  assert.equal(await dialAs(socketPath, { name: 'a', pid: 1 }, SECRET), 'refused', 'another pid than the record\'s');
  assert.equal(await dialAs(socketPath, { name: 'b', pid: process.pid }, SECRET), 'refused', 'another name');
  assert.equal(linked.length, 0);
  assert.equal(await dialAs(socketPath, { name: 'a', pid: process.pid }, SECRET), 'kept');
  assert.equal(linked.length, 1);
  assert.equal(linked[0]!.hello.name, 'a');
});

test('a record whose pid now belongs to another process proves nothing', async (t) => {
  const { links, socketPath } = await supervisorEnd(t);
  const linked: Linked[] = [];
  // The record's start time is not this process's: what a reused pid looks like.
  links.expectRecorded(record({ proc_start: '1' }), (link) => linked.push(link));
  assert.equal(isSameProcess(process.pid, '1'), false);
  assert.equal(await dialAs(socketPath, { name: 'a', pid: process.pid }, SECRET), 'refused');
  assert.equal(linked.length, 0);
});

test('a worker tells nothing to a supervisor that does not prove it knows the worker\'s secret', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tat-control-'));
  const socketPath = path.join(dir, 'control.sock');
  const told: unknown[] = [];
  // A process posing as the supervisor: it answers the hello with a proof made with another secret.
  const server = net.createServer((socket) => {
    const channel = new LineChannel(socket);
    channel.onValue((value) => {
      told.push(value);
      if ((value as { type?: string }).type === 'hello') channel.send({ type: 'proof', proof: proofOf('not the secret 0123456789abcdef', 'supervisor', (value as { nonce: string }).nonce), nonce: newNonce() });
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const link = new SupervisorLink({ socketPath, name: 'a', secret: SECRET, build: 'b', settings: 's', orphanTimeoutMs: 60_000, startedAt: Date.now(), lines: () => ['{"msg":"a recent line"}'], onLinked() {}, onShutdown() {}, onSecret() {}, onOrphaned() {} });
  t.after(() => {
    link.close();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('the worker to dial twice', () => told.filter((v) => (v as { type?: string }).type === 'hello').length >= 2, 3000);
  assert.deepEqual(told.map((v) => (v as { type: string }).type).filter((type) => type !== 'hello'), [], 'only hellos: no proof, no state, no log line');
  assert.equal(link.connected, false);
});

test('a worker and its supervisor link up; a worker nobody takes back stops itself after its orphan timeout', async (t) => {
  const { links, socketPath } = await supervisorEnd(t);
  const linked: Linked[] = [];
  links.expectRecorded(record(), (l) => linked.push(l));
  let orphaned = 0;
  const link = new SupervisorLink({ socketPath, name: 'a', secret: SECRET, build: 'b', settings: 's', orphanTimeoutMs: 1000, startedAt: Date.now(), lines: () => ['{"msg":"a recent line"}'], onLinked() {}, onShutdown() {}, onSecret() {}, onOrphaned: () => void orphaned++ });
  t.after(() => link.close());
  link.notify({ type: 'ready', port: 7001, socket: null });
  await waitFor('the link', () => linked.length === 1 && link.connected, 3000);
  assert.deepEqual(linked[0]!.state.listening, { port: 7001, socket: null }, 'what it said before the link comes with it');
  assert.deepEqual(linked[0]!.state.lines, ['{"msg":"a recent line"}']);

  // The supervisor goes: nobody takes the worker back.
  const gone = performance.now();
  linked[0]!.channel.socket.destroy();
  await links.close();
  await waitFor('the worker to give up', () => orphaned === 1, 3000);
  assert.ok(performance.now() - gone >= 900, 'not before its orphan timeout');
});
