import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';
import { FailNow, killOnFailure, startProcess, waitFor, type Started } from './processes.ts';

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** Whether a `redis-server` can run here, and why not (for `requireIntegration`). */
export function redisAvailability(): { available: boolean; reason: string } {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return { available: false, reason: `"${BINARY} --version" failed (${probe.error?.message ?? `exit ${probe.status}`}); install redis-server` };
  }
  return { available: true, reason: '' };
}

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>/0` */
  url: string;
  readonly pid: number | null;
  readonly running: boolean;
  /** Stops it: `save` writes the data set first (SHUTDOWN SAVE) so a restart loads it; otherwise SIGKILL. */
  stop(options?: { save?: boolean }): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** A raw client for checking keys and TTLs (closed by `close`). */
  client(): Redis;
  /** Stops the server and every client, removes the data dir. */
  close(): Promise<void>;
}

/** A real redis-server on a free loopback port, with nothing persisted unless `stop({save:true})` asks. */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-redis-'));
  const clients: Redis[] = [];
  let proc: Started | null = null;

  const start = async () => {
    if (proc) throw new Error('redis-server is already running');
    const started = startProcess(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', 'dump.rdb', '--daemonize', 'no', '--protected-mode', 'yes']);
    void started.exited().then(() => {
      if (proc === started) proc = null;
    });
    proc = started;
    const answering = waitFor(
      `redis-server on ${port} to answer PING`,
      async () => {
        if (started.child.exitCode !== null || started.child.signalCode !== null) throw new FailNow(`redis-server exited at start:\n${started.output()}`);
        return ping(port);
      },
      10_000,
    ).catch((error: Error) => {
      error.message += `\n${started.output()}`;
      throw error;
    });
    await killOnFailure(started, answering);
  };

  const stop = async ({ save = false } = {}) => {
    const running = proc;
    if (!running) return;
    if (save) await command(port, 'SHUTDOWN SAVE').catch(() => running.kill());
    else await running.kill();
    await running.exited();
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    get pid() {
      return proc?.pid ?? null;
    },
    get running() {
      return proc !== null;
    },
    stop,
    start,
    client() {
      const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 });
      redis.on('error', () => {}); // the suite stops the server on purpose
      clients.push(redis);
      return redis;
    },
    async close() {
      for (const c of clients) c.disconnect(false);
      await stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** True when something on the port answers PING with PONG. */
function ping(port: number): Promise<boolean> {
  return command(port, 'PING').then(
    (reply) => reply.startsWith('+PONG'),
    () => false,
  );
}

/** Sends one inline command and resolves with the first reply line (or '' when the server closes). */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.once('close', () => resolve(reply));
    socket.once('error', reject);
  });
}
