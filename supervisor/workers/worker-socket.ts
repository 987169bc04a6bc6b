import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where a worker's Unix socket lives: a private (0700) folder per user and config dir under the system's
 *  temp dir, short enough for the kernel's ~104-byte limit on socket paths. `null` when no such path fits:
 *  the supervisor then proxies over the worker's TCP port. */
export function workerSocketPath(configDir: string, name: string): string | null {
  const dir = socketDir(configDir);
  const file = path.join(dir, `${name}.sock`);
  if (Buffer.byteLength(file) > 100) return null;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(path.dirname(dir), 0o700);
    fs.chmodSync(dir, 0o700);
  } catch {
    return null;
  }
  return file;
}

function socketDir(configDir: string): string {
  const user = process.getuid?.() ?? os.userInfo().username;
  const key = createHash('sha256').update(path.resolve(configDir)).digest('hex').slice(0, 10);
  return path.join(os.tmpdir(), `tat-mis-${user}`, key);
}

/** After the last worker stopped: its sockets are gone (Node removes them on close); remove the folder. */
export function removeWorkerSocketDir(configDir: string): void {
  const dir = socketDir(configDir);
  try {
    for (const name of fs.readdirSync(dir)) if (name.endsWith('.sock')) fs.rmSync(path.join(dir, name), { force: true });
    fs.rmdirSync(dir);
  } catch {
    // never created, or not empty: nothing to do
  }
}
