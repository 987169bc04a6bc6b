import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { loadSettings, SettingsError } from '../../shared/runtime/settings.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';

async function withDir(fn: (c: TestConfigDir) => Promise<void>, settings?: Record<string, unknown>) {
  const c = await makeConfigDir(settings ? { settings } : {});
  try {
    await fn(c);
  } finally {
    await c.remove();
  }
}

test('defaults without a settings file or environment', () =>
  withDir(async (c) => {
    const { settings, warnings } = await loadSettings(c.dir, {});
    assert.deepEqual(warnings, []);
    assert.equal(settings.PORT, 5000);
    assert.equal(settings.HOST, '127.0.0.1');
    assert.equal(settings.WORKER_BASE_PORT, 5001);
    assert.equal(settings.PUBLIC_URL, 'http://localhost:5000');
    assert.equal(settings.SESSION_BACKEND, 'file');
    assert.equal(settings.REDIS_PREFIX, 'tat_mis:');
    assert.equal(settings.REDIS_TTL, 86400);
    assert.equal(settings.HEADLESS, true);
    assert.equal(settings.MIS_URL, 'https://mis.theartisttree.com/daily-discount');
    assert.equal(settings.BLAZE_API_URL, 'https://api.blaze.me');
    assert.equal(settings.START_TIMEOUT_MS, 20000);
    assert.equal(settings.STOP_TIMEOUT_MS, 10000);
    assert.equal(settings.MAX_RESTARTS, 5);
    assert.equal(settings.RESTART_WINDOW_MS, 60000);
    assert.equal(settings.LOG_LEVEL, 'info');
    assert.equal(settings.PROFILES, undefined);
    assert.equal(settings.SUPERVISOR_TOKEN, undefined);
    assert.equal(settings.configDir, c.dir);
  }));

test('derived defaults follow PORT', () =>
  withDir(
    async (c) => {
      const { settings } = await loadSettings(c.dir, {});
      assert.equal(settings.PORT, 7000);
      assert.equal(settings.WORKER_BASE_PORT, 7001);
      assert.equal(settings.PUBLIC_URL, 'http://localhost:7000');
    },
    { PORT: 7000 },
  ));

test('values from settings.json are used', () =>
  withDir(
    async (c) => {
      const { settings, warnings } = await loadSettings(c.dir, {});
      assert.deepEqual(warnings, []);
      assert.equal(settings.PORT, 6000);
      assert.equal(settings.WORKER_BASE_PORT, 6100);
      assert.equal(settings.PUBLIC_URL, 'https://tat.example.com');
      assert.deepEqual(settings.PROFILES, ['nick.tat', 'store-la']);
      assert.equal(settings.HEADLESS, false);
      assert.equal(settings.SESSION_BACKEND, 'memory');
    },
    { PORT: 6000, WORKER_BASE_PORT: 6100, PUBLIC_URL: 'https://tat.example.com/', PROFILES: ['nick.tat', 'store-la'], HEADLESS: false, SESSION_BACKEND: 'memory' },
  ));

test('environment variables win over the file and are coerced from strings', () =>
  withDir(
    async (c) => {
      const { settings } = await loadSettings(c.dir, {
        PORT: '6200',
        HEADLESS: 'false',
        PROFILES: 'a, b',
        REDIS_TTL: '60',
        SESSION_BACKEND: 'redis',
        LOG_LEVEL: 'debug',
      });
      assert.equal(settings.PORT, 6200);
      assert.equal(settings.WORKER_BASE_PORT, 6201);
      assert.equal(settings.PUBLIC_URL, 'http://localhost:6200');
      assert.equal(settings.HEADLESS, false);
      assert.deepEqual(settings.PROFILES, ['a', 'b']);
      assert.equal(settings.REDIS_TTL, 60);
      assert.equal(settings.SESSION_BACKEND, 'redis');
      assert.equal(settings.LOG_LEVEL, 'debug');
    },
    { PORT: 6000, HEADLESS: true, PROFILES: ['x'], REDIS_TTL: 10, SESSION_BACKEND: 'file' },
  ));

test('HEADLESS accepts the usual boolean spellings from the environment', () =>
  withDir(async (c) => {
    for (const [raw, expected] of [['0', false], ['no', false], ['off', false], ['FALSE', false], ['1', true], ['true', true], ['yes', true], ['on', true]] as const) {
      const { settings } = await loadSettings(c.dir, { HEADLESS: raw });
      assert.equal(settings.HEADLESS, expected, raw);
    }
  }));

test('an empty environment variable does not override the file', () =>
  withDir(
    async (c) => {
      const { settings } = await loadSettings(c.dir, { PORT: '' });
      assert.equal(settings.PORT, 6000);
    },
    { PORT: 6000 },
  ));

async function settingsError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SettingsError, `expected a SettingsError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected loadSettings to throw');
}

test('a wrong type in settings.json throws a SettingsError naming the key and the file', () =>
  withDir(
    async (c) => {
      const message = await settingsError(loadSettings(c.dir, {}));
      assert.match(message, /PORT/);
      assert.ok(message.includes(c.file('settings.json')), message);
    },
    { PORT: 'five thousand' },
  ));

test('other wrong types in settings.json are refused too', async () => {
  for (const [key, value] of [
    ['HEADLESS', 'maybe'],
    ['HEADLESS', 'false'],
    ['PORT', '5000'],
    ['PROFILES', 'a,b'],
    ['PORT', 70000],
    ['PORT', 5000.5],
    ['SESSION_BACKEND', 'postgres'],
    ['PROFILES', ['../x']],
    ['PROFILES', [5]],
    ['HOST', ''],
    ['PUBLIC_URL', 'ftp://example.com'],
    ['REDIS_TTL', -1],
    ['LOG_LEVEL', 'loud'],
  ] as const) {
    await withDir(
      async (c) => {
        const message = await settingsError(loadSettings(c.dir, {}));
        assert.ok(message.includes(key), `${key}=${JSON.stringify(value)}: ${message}`);
      },
      { [key]: value },
    );
  }
});

test('a wrong type from the environment names the environment variable', () =>
  withDir(async (c) => {
    const message = await settingsError(loadSettings(c.dir, { STOP_TIMEOUT_MS: 'soon' }));
    assert.match(message, /environment variable STOP_TIMEOUT_MS/);
    const port = await settingsError(loadSettings(c.dir, { PORT: 'abc' }));
    assert.match(port, /environment variable PORT/);
  }));

test('an unknown key is a warning naming it, not an error', () =>
  withDir(
    async (c) => {
      const { settings, warnings } = await loadSettings(c.dir, {});
      assert.equal(settings.PORT, 5000);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /POTR/);
      assert.ok(warnings[0]!.includes(c.file('settings.json')));
    },
    { POTR: 5001 },
  ));

test('a corrupt settings.json throws a SettingsError naming the file', () =>
  withDir(async (c) => {
    await fs.writeFile(c.file('settings.json'), '{"PORT": 50');
    const message = await settingsError(loadSettings(c.dir, {}));
    assert.ok(message.includes(c.file('settings.json')), message);
  }));

test('a settings.json that is not an object throws a SettingsError naming the file', () =>
  withDir(async (c) => {
    for (const text of ['[]', '"PORT"', 'null', '5']) {
      await fs.writeFile(c.file('settings.json'), text);
      const message = await settingsError(loadSettings(c.dir, {}));
      assert.ok(message.includes(c.file('settings.json')), `${text}: ${message}`);
    }
  }));

test('the guide\'s Redis settings.json loads', () =>
  withDir(
    async (c) => {
      const { settings, warnings } = await loadSettings(c.dir, {});
      assert.deepEqual(warnings, []);
      assert.equal(settings.SESSION_BACKEND, 'redis');
      assert.equal(settings.REDIS_URL, 'redis://localhost:6379/0');
      assert.equal(settings.REDIS_PREFIX, 'tat_mis_nick:');
      assert.equal(settings.REDIS_TTL, 86400);
    },
    { SESSION_BACKEND: 'redis', REDIS_URL: 'redis://localhost:6379/0', REDIS_PREFIX: 'tat_mis_nick:', REDIS_TTL: 86400 },
  ));
