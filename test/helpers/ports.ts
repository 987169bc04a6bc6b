import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { portIsFree } from '../../supervisor/control/port-registry.ts';

/** True when nothing listens on 127.0.0.1:`port` (the supervisor's own check, which tests use too). */
export { portIsFree };

/** A port nobody listens on right now (the OS picks it; released before returning). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `count` consecutive free ports below the kernel's ephemeral range (32768+ on Linux): a port from that range
 *  can be taken between this check and the supervisor binding it, by any outgoing connection of any process. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (12_000 - count));
    if ((await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** The last port there is, 65535, for this suite alone until `t.after`: a worker pinned to it, while someone
 *  listens on it, cannot start and has no port above it to move to. Suites running at the same time take
 *  turns (a lock directory in the temp dir, taken over when its owner process is gone); this waits up to
 *  three minutes for its turn. `hold`: also listen on it now, as another program would (closed by `t.after`). */
export async function lastPort(t: { after(fn: () => Promise<void>): void }, options: { hold?: boolean } = {}): Promise<number> {
  const port = 65535;
  const lock = path.join(os.tmpdir(), `tat-test-port-${port}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!ownerAlive(lock)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`port ${port} stayed locked by another suite (${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  let holder: net.Server | null = null;
  t.after(async () => {
    if (holder) await new Promise<void>((resolve) => holder!.close(() => resolve()));
    fs.rmSync(lock, { recursive: true, force: true });
  });
  if (options.hold) {
    // The suite before may still be stopping a worker that ran on it.
    for (;;) {
      const server = net.createServer((socket) => socket.destroy());
      const error = await new Promise<Error | null>((resolve) => {
        server.once('error', resolve);
        server.listen(port, '127.0.0.1', () => resolve(null));
      });
      if (!error) {
        holder = server;
        break;
      }
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return port;
}

function ownerAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    // being written right now, or never: give it a moment, then it counts as gone
    try {
      return Date.now() - fs.statSync(lock).mtimeMs < 2000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
