import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createLogger } from '../../shared/runtime/logger.ts';
import { CorruptFileError, ProfileStore } from '../../shared/profiles/profile-store.ts';
import { makeConfigDir, type TestConfigDir } from '../helpers/config-dir.ts';

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}
const WARN = 40;
const ERROR = 50;

async function setup(profiles: string[] = []) {
  const config = await makeConfigDir({ profiles });
  const lines: Line[] = [];
  const log = createLogger({
    level: 'debug',
    destination: {
      write(s: string) {
        lines.push(JSON.parse(s));
      },
    },
  });
  return { config, lines, store: new ProfileStore(config.dir, log) };
}

async function withStore(profiles: string[], fn: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>) {
  const s = await setup(profiles);
  try {
    await fn(s);
  } finally {
    await s.config.remove();
  }
}

const realToken = { token: 'ya29.x', refresh_token: '1//r', scopes: ['https://www.googleapis.com/auth/spreadsheets'], expiry: '2030-01-01T00:00:00' };

async function addTokenOnly(config: TestConfigDir, handle: string, value: unknown = { placeholder: true, handle }) {
  await config.writeJson(`tokens/token_${handle}.json`, value);
}

test('an empty config dir has no profiles', () =>
  withStore([], async ({ store }) => {
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await store.validHandles(), []);
  }));

test('list, validHandles and summary tell registered, credentialed and authenticated apart', () =>
  withStore(['store-la', 'nick.tat'], async ({ config, store }) => {
    await config.writeJson('tokens/token_nick.tat.json', realToken); // authenticated
    await config.addCredentials('creds.only'); // credentials, no token
    await addTokenOnly(config, 'token.only'); // token, no credentials
    // files whose names are not canonical handles are not profiles
    await config.writeJson('tokens/token_Upper.json', { placeholder: true, handle: 'Upper' });
    await config.writeJson('tokens/token_a..b.json', { placeholder: true, handle: 'a..b' });
    await config.writeJson('tokens/notes.json', {});
    await config.writeJson('google_creds/credentials_.json', {});

    assert.deepEqual(await store.validHandles(), ['nick.tat', 'store-la']);
    assert.deepEqual(await store.list(), [
      { handle: 'creds.only', registered: false, has_credentials: true, authenticated: false },
      { handle: 'nick.tat', registered: true, has_credentials: true, authenticated: true },
      { handle: 'store-la', registered: true, has_credentials: true, authenticated: false },
      { handle: 'token.only', registered: true, has_credentials: false, authenticated: false },
    ]);
    assert.deepEqual(await store.summary('nick.tat'), { handle: 'nick.tat', registered: true, has_credentials: true, authenticated: true });
    assert.deepEqual(await store.summary('store-la'), { handle: 'store-la', registered: true, has_credentials: true, authenticated: false });
    assert.deepEqual(await store.summary('nobody'), { handle: 'nobody', registered: false, has_credentials: false, authenticated: false });
    assert.equal(await store.isValid('token.only'), false);
    assert.equal(await store.isValid('creds.only'), false);
    assert.equal(await store.isValid('nick.tat'), true);
  }));

test('a corrupt token file is reported by name and counts as not authenticated', () =>
  withStore(['nick.tat'], async ({ config, store, lines }) => {
    await fs.writeFile(config.file('tokens/token_nick.tat.json'), '{"token": "ya29');
    assert.equal((await store.readToken('nick.tat')).kind, 'corrupt');
    assert.equal((await store.summary('nick.tat')).authenticated, false);
    assert.ok(lines.some((l) => l.level === ERROR && l.file === 'tokens/token_nick.tat.json'));
    assert.equal(await fs.readFile(config.file('tokens/token_nick.tat.json'), 'utf8'), '{"token": "ya29');
  }));

test('auto-selection 1: a valid BLAZE_PROFILE wins over last_profile.json', () =>
  withStore(['a.first', 'nick.tat', 'store-la'], async ({ config, store }) => {
    await config.writeJson('last_profile.json', { last_profile: 'store-la' });
    assert.deepEqual(await store.selectCurrent('nick.tat'), { handle: 'nick.tat', source: 'BLAZE_PROFILE' });
    assert.deepEqual(await store.selectCurrent('  Nick.Tat '), { handle: 'nick.tat', source: 'BLAZE_PROFILE' });
  }));

test('auto-selection: an invalid BLAZE_PROFILE is logged and falls through', () =>
  withStore(['a.first', 'store-la'], async ({ config, store, lines }) => {
    await config.writeJson('last_profile.json', { last_profile: 'store-la' });
    // not a handle at all
    assert.deepEqual(await store.selectCurrent('../etc'), { handle: 'store-la', source: 'last_profile' });
    const bad = lines.find((l) => l.level === WARN && l.BLAZE_PROFILE === '../etc');
    assert.ok(bad, JSON.stringify(lines));
    assert.match(bad.msg, /BLAZE_PROFILE/);
    // a handle, but not a valid profile (no token / no credentials)
    await config.addCredentials('creds.only');
    for (const h of ['nobody', 'creds.only']) {
      assert.deepEqual(await store.selectCurrent(h), { handle: 'store-la', source: 'last_profile' });
      assert.ok(lines.some((l) => l.level === WARN && l.BLAZE_PROFILE === h), h);
    }
  }));

test('auto-selection: an empty BLAZE_PROFILE counts as unset, without a warning', () =>
  withStore(['store-la'], async ({ store, lines }) => {
    assert.deepEqual(await store.selectCurrent(''), { handle: 'store-la', source: 'first_valid' });
    assert.equal(lines.filter((l) => l.level >= WARN).length, 0);
  }));

test('auto-selection remembers a first-valid choice in last_profile.json, but never over a corrupt file', () =>
  withStore(['store-la'], async ({ config, store }) => {
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'store-la', source: 'first_valid' });
    assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'store-la' });
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'store-la', source: 'last_profile' });
    await config.writeJson('last_profile.json', 'garbage');
    await fs.writeFile(config.file('last_profile.json'), '{"last_profile": ');
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'store-la', source: 'first_valid' });
    assert.equal(await fs.readFile(config.file('last_profile.json'), 'utf8'), '{"last_profile": ');
  }));

test('auto-selection 2: last_profile.json when it names a valid profile', () =>
  withStore(['a.first', 'store-la'], async ({ config, store }) => {
    await config.writeJson('last_profile.json', { last_profile: 'store-la' });
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'store-la', source: 'last_profile' });
    // naming a profile that is no longer valid → falls through to first valid
    await config.writeJson('last_profile.json', { last_profile: 'gone.user' });
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'a.first', source: 'first_valid' });
  }));

test('auto-selection: a corrupt last_profile.json is logged by name, skipped and left untouched', () =>
  withStore(['b.second', 'a.first'], async ({ config, store, lines }) => {
    const corrupt = '{"last_profile": "b.sec';
    await fs.writeFile(config.file('last_profile.json'), corrupt);
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'a.first', source: 'first_valid' });
    const error = lines.find((l) => l.level === ERROR);
    assert.ok(error, JSON.stringify(lines));
    assert.equal(error.file, 'last_profile.json');
    assert.equal(await fs.readFile(config.file('last_profile.json'), 'utf8'), corrupt);
  }));

test('auto-selection: last_profile.json naming an invalid handle is warned about and skipped', () =>
  withStore(['a.first'], async ({ config, store, lines }) => {
    await config.writeJson('last_profile.json', { last_profile: '../../etc/passwd' });
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'a.first', source: 'first_valid' });
    assert.ok(lines.some((l) => l.level === WARN && l.file === 'last_profile.json'));
  }));

test('auto-selection 3: the first valid handle in sorted order', () =>
  withStore(['zeta', 'mid.user', 'alpha'], async ({ config, store }) => {
    await config.addCredentials('aaa.nocreds.token'); // credentials only: not valid
    await addTokenOnly(config, '0.tokenonly'); // token only: not valid
    assert.deepEqual(await store.selectCurrent(undefined), { handle: 'alpha', source: 'first_valid' });
  }));

test('auto-selection 4: none (first-run mode)', () =>
  withStore([], async ({ config, store }) => {
    assert.deepEqual(await store.selectCurrent(undefined), { handle: null, source: 'none' });
    await config.addCredentials('nick.tat'); // credentials without a token are not a profile yet
    await config.writeJson('last_profile.json', { last_profile: 'nick.tat' });
    assert.deepEqual(await store.selectCurrent('nick.tat'), { handle: null, source: 'none' });
  }));

test('writeLastProfile / readLastProfile round trip', () =>
  withStore([], async ({ config, store }) => {
    assert.equal(await store.readLastProfile(), null);
    await store.writeLastProfile('nick.tat');
    assert.deepEqual(await config.readJson('last_profile.json'), { last_profile: 'nick.tat' });
    assert.equal(await store.readLastProfile(), 'nick.tat');
  }));

const URLS = { MIS_URL: 'https://mis.example/daily-discount', BLAZE_API_URL: 'https://api.blaze.me' };

test('mergeBlazeConfig creates a flat secret file and merges later patches', () =>
  withStore(['nick.tat'], async ({ config, store }) => {
    await store.mergeBlazeConfig('nick.tat', { mis_username: 'nick', mis_password: 'p1' }, URLS);
    const merged = await store.mergeBlazeConfig('nick.tat', { blaze_api_url: 'https://api.blaze.me', mis_password: 'p2' }, URLS);
    const expected = { mis_username: 'nick', mis_password: 'p2', blaze_api_url: 'https://api.blaze.me', mis_password_origin: 'https://mis.example' };
    assert.deepEqual(merged, expected);
    assert.deepEqual(await config.readJson('blaze_configs/blaze_config_nick.tat.json'), expected);
    assert.equal((await fs.stat(config.file('blaze_configs/blaze_config_nick.tat.json'))).mode & 0o777, 0o600);
    assert.deepEqual(await store.readBlazeConfig('nick.tat'), expected);
  }));

test('mergeBlazeConfig rewrites a legacy nested file flat', () =>
  withStore(['nick.tat'], async ({ config, store }) => {
    await config.writeJson('blaze_configs/blaze_config_nick.tat.json', {
      mis: { username: 'nick@theartisttree.com', password: 'old-mis' },
      blaze: { email: 'nick@blaze.me', password: 'old-blaze' },
      google_sheet: { default_url: 'https://docs.google.com/spreadsheets/d/abc' },
    });
    await store.mergeBlazeConfig('nick.tat', { mis_password: 'new-mis' }, URLS);
    assert.deepEqual(await config.readJson('blaze_configs/blaze_config_nick.tat.json'), {
      mis_username: 'nick@theartisttree.com',
      mis_password: 'new-mis',
      blaze_email: 'nick@blaze.me',
      blaze_password: 'old-blaze',
      google_sheet_url: 'https://docs.google.com/spreadsheets/d/abc',
      mis_password_origin: 'https://mis.example',
      blaze_password_origin: 'https://api.blaze.me',
    });
  }));

test('mergeBlazeConfig on a corrupt file throws CorruptFileError and leaves the file byte-identical', () =>
  withStore(['nick.tat'], async ({ config, store, lines }) => {
    const file = config.file('blaze_configs/blaze_config_nick.tat.json');
    await fs.mkdir(config.file('blaze_configs'), { recursive: true });
    const corrupt = '{"mis_username": "nick", "mis_password": "half-writ';
    await fs.writeFile(file, corrupt);
    await assert.rejects(store.mergeBlazeConfig('nick.tat', { mis_username: 'other' }, URLS), (error: unknown) => {
      assert.ok(error instanceof CorruptFileError);
      assert.equal(error.file, 'blaze_configs/blaze_config_nick.tat.json');
      return true;
    });
    assert.equal(await fs.readFile(file, 'utf8'), corrupt);
    assert.deepEqual(await fs.readdir(config.file('blaze_configs')), ['blaze_config_nick.tat.json']);
    assert.ok(lines.some((l) => l.level === ERROR && l.file === 'blaze_configs/blaze_config_nick.tat.json'));
    // reading it is treated as absent, still without touching it
    assert.deepEqual(await store.readBlazeConfig('nick.tat'), {});
    assert.equal(await fs.readFile(file, 'utf8'), corrupt);
  }));

test('concurrent mergeBlazeConfig calls lose no field', () =>
  withStore(['nick.tat'], async ({ config, store }) => {
    const keys = ['mis_username', 'mis_password', 'blaze_email', 'blaze_password'] as const;
    await Promise.all(keys.map((k) => store.mergeBlazeConfig('nick.tat', { [k]: `v-${k}` }, URLS)));
    assert.deepEqual(await config.readJson('blaze_configs/blaze_config_nick.tat.json'), {
      ...Object.fromEntries(keys.map((k) => [k, `v-${k}`])),
      mis_password_origin: 'https://mis.example',
      blaze_password_origin: 'https://api.blaze.me',
    });
  }));

test('ensureBlazeConfig creates an empty config but keeps an existing one', () =>
  withStore([], async ({ config, store }) => {
    await store.ensureBlazeConfig('new.user');
    assert.deepEqual(await config.readJson('blaze_configs/blaze_config_new.user.json'), {});
    await config.writeJson('blaze_configs/blaze_config_old.user.json', { mis_username: 'kept' });
    await store.ensureBlazeConfig('old.user');
    assert.deepEqual(await config.readJson('blaze_configs/blaze_config_old.user.json'), { mis_username: 'kept' });
  }));

test('createPlaceholderToken: of 20 concurrent calls exactly one wins', () =>
  withStore([], async ({ config, store }) => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.createPlaceholderToken('nick.tat')));
    assert.equal(results.filter((r) => r === true).length, 1, JSON.stringify(results));
    assert.deepEqual(await config.readJson('tokens/token_nick.tat.json'), { placeholder: true, handle: 'nick.tat' });
    assert.deepEqual((await fs.readdir(config.file('tokens'))).sort(), ['token_nick.tat.json']);
    assert.equal((await fs.stat(config.file('tokens/token_nick.tat.json'))).mode & 0o777, 0o600);
    // and a later one loses too
    assert.equal(await store.createPlaceholderToken('nick.tat'), false);
  }));

test('writeToken stores the original shape and replaces the placeholder', () =>
  withStore(['nick.tat'], async ({ config, store }) => {
    await store.writeToken('nick.tat', {
      accessToken: 'a',
      refreshToken: 'r',
      expiryDate: Date.UTC(2030, 0, 1),
      scopes: ['s'],
      tokenUri: 'https://oauth2.googleapis.com/token',
      clientId: 'c',
      clientSecret: 'cs',
    });
    const written = await config.readJson('tokens/token_nick.tat.json');
    assert.equal(written.token, 'a');
    assert.equal(written.expiry, '2030-01-01T00:00:00.000');
    assert.equal((await store.summary('nick.tat')).authenticated, true);
  }));

test('deleteToken removes the token only', () =>
  withStore(['old.user'], async ({ config, store }) => {
    await config.writeJson('blaze_configs/blaze_config_old.user.json', { mis_username: 'kept' });
    assert.equal(await store.deleteToken('old.user'), true);
    assert.equal(await config.exists('tokens/token_old.user.json'), false);
    assert.equal(await config.exists('google_creds/credentials_old.user.json'), true);
    assert.equal(await config.exists('blaze_configs/blaze_config_old.user.json'), true);
    assert.equal(await store.deleteToken('old.user'), false);
  }));
