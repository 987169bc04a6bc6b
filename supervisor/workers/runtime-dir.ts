import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** This user's private (0700) folder of runtime folders: systemd's `RuntimeDirectory=` (`$RUNTIME_DIRECTORY`,
 *  kept across restarts) when given, else a folder per user in the system's temp dir. */
export function userRuntimeBase(env: NodeJS.ProcessEnv = process.env): string {
  const systemd = env.RUNTIME_DIRECTORY?.split(':')[0];
  if (systemd) return systemd;
  const user = process.getuid?.() ?? os.userInfo().username;
  return path.join(os.tmpdir(), `tat-mis-${user}`);
}

/** The private (0700) runtime folders of one config dir: one per supervisor (per PORT: shards of one config
 *  dir each have their own), holding the workers' Unix sockets, the supervisor's control socket, and what the
 *  supervisor keeps of each worker it started (`workers/<name>.json`) so that the next supervisor on that
 *  port can find them. Paths stay short enough for the kernel's ~104-byte limit on socket paths. */
export function configRuntimeDir(configDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const key = createHash('sha256').update(path.resolve(configDir)).digest('hex').slice(0, 10);
  return path.join(userRuntimeBase(env), key);
}

/** Node's compile cache for this user's processes (every start after the first skips compiling the modules),
 *  in the private folder; null when that folder cannot be made private. A code cache is code that V8 runs
 *  unchecked: one in a folder another user could make first (a shared /tmp) would run their code in ours. */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const base = userRuntimeBase(env);
  try {
    fs.mkdirSync(base, { recursive: true, mode: 0o700 });
    return ownedPrivate(base) ? path.join(base, 'compile-cache') : null;
  } catch {
    return null;
  }
}

/** The runtime folder of the supervisor of `configDir` on `port`. */
export function runtimeDir(configDir: string, port: number, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configRuntimeDir(configDir, env), String(port));
}

/** Every supervisor's runtime folder of `configDir` (what `npm run stop` looks through). */
export function runtimeDirsOf(configDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const base = configRuntimeDir(configDir, env);
  try {
    return fs.readdirSync(base).filter((n) => /^\d+$/.test(n)).map((n) => path.join(base, n));
  } catch {
    return [];
  }
}

/** Creates the folder (and the ones above it) private to this user; false when that cannot be done. */
export function ensureRuntimeDir(dir: string): boolean {
  try {
    fs.mkdirSync(path.join(dir, 'workers'), { recursive: true, mode: 0o700 });
    return [path.dirname(path.dirname(dir)), path.dirname(dir), dir, path.join(dir, 'workers')].every(ownedPrivate);
  } catch {
    return false;
  }
}

/** Whether `dir` is a folder of this user, made 0700 now. Another user's folder at this path (made first, in
 *  a shared /tmp) is never used. */
function ownedPrivate(dir: string): boolean {
  const stat = fs.lstatSync(dir);
  if (stat.uid !== process.getuid?.() || !stat.isDirectory()) return false;
  fs.chmodSync(dir, 0o700);
  return true;
}

/** A socket path in the folder, or null when it would be too long (or the folder cannot be made). */
function socketIn(dir: string, file: string): string | null {
  const full = path.join(dir, file);
  if (Buffer.byteLength(full) > 100 || !ensureRuntimeDir(dir)) return null;
  return full;
}

/** Where a worker's Unix socket lives; `null`: the supervisor proxies over the worker's TCP port. */
export function workerSocketPath(runtime: string, name: string): string | null {
  return socketIn(runtime, `${name}.sock`);
}

/** The supervisor's control socket, which its workers dial. */
export function controlSocketPath(runtime: string): string | null {
  return socketIn(runtime, 'control.sock');
}

/** Where the supervisor keeps what it knows of each worker it started. */
export function workerRecordsDir(runtime: string): string {
  return path.join(runtime, 'workers');
}

/** After the last worker stopped and the supervisor with them: the folder goes (sockets and all). */
export function removeRuntimeDir(runtime: string): void {
  fs.rmSync(runtime, { recursive: true, force: true });
  try {
    fs.rmdirSync(path.dirname(runtime)); // the config dir's folder, once no supervisor of it is left
  } catch {
    // another supervisor of the same config dir still runs (another PORT), or it is gone already
  }
}

/** The secret that proves to the workers that a request came through the supervisor (README, "Letting
 *  colleagues in"): kept in the folder, so that workers a supervisor hands over already hold the next one's;
 *  a new one whenever the folder was removed (the whole system stopped). */
export function requestSecret(dir: string): string {
  const file = path.join(dir, 'request-secret');
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  } catch {
    // none yet
  }
  const secret = randomBytes(24).toString('base64url');
  fs.writeFileSync(`${file}.tmp`, secret, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return secret;
}
