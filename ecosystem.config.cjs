// pm2 runs the supervisor alone; the supervisor starts, heals and stops its own workers, and its workers
// outlive it: `pm2 restart`/`reload` replace the supervisor only, and the new one takes every worker back.
// `pm2 stop`/`delete` leave the workers to stop by themselves after ORPHAN_TIMEOUT_MS; `npm run stop` stops
// everything at once (README, "Running it for real").
//   npx pm2 start ecosystem.config.cjs   ·   npx pm2 reload tat-mis   ·   npx pm2 delete tat-mis
const fs = require('node:fs');
const path = require('node:path');

// kill_timeout must outlast the supervisor's own graceful exit (its requests finish within STOP_TIMEOUT_MS).
function stopTimeoutMs() {
  const fromEnv = Number(process.env.STOP_TIMEOUT_MS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  const configDir = process.env.TAT_CONFIG_DIR || path.join(__dirname, 'config');
  try {
    const value = JSON.parse(fs.readFileSync(path.join(configDir, 'settings.json'), 'utf8')).STOP_TIMEOUT_MS;
    if (Number.isInteger(value) && value > 0) return value;
  } catch {
    // no settings file: the default below
  }
  return 10_000;
}

module.exports = {
  apps: [
    {
      name: 'tat-mis',
      // What `npm start` runs: the compiled supervisor, built again first if a source is newer.
      script: 'scripts/start.mjs',
      args: 'supervisor',
      cwd: __dirname,
      // The project's own Node 22 (the `node` devDependency), whatever Node pm2 itself runs on.
      interpreter: path.join(__dirname, 'node_modules', 'node', 'bin', 'node'),
      exec_mode: 'fork',
      instances: 1,
      // pm2 signals the supervisor only: its workers (in sessions of their own) are left for the next one.
      treekill: false,
      kill_timeout: stopTimeoutMs() + 5_000,
      // The supervisor sends 'ready' once it listens and its first reconciliation ran.
      wait_ready: true,
      listen_timeout: 30_000,
      autorestart: true,
      exp_backoff_restart_delay: 200,
      max_memory_restart: '1G',
      // pino writes JSON lines with their own timestamps; keep them as they are, in one stream.
      merge_logs: true,
      log_type: 'raw',
      // Two glibc malloc arenas instead of one per thread: ~4 MB less resident memory (the supervisor sets the
      // same for its workers).
      env: { NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' },
    },
  ],
};
