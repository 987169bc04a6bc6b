// users.json (shared/access/users.ts): scrypt password hashes, API tokens kept as hashes, grants, 0600 atomic
// writes, changes by another process seen within a second, and a corrupt file that gives no one access.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { UserError, UserStore, viewOf } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { waitFor } from '../helpers/processes.ts';

async function withStore(fn: (file: string, store: UserStore) => Promise<void>) {
  const config = await makeConfigDir();
  try {
    const file = config.file('users.json');
    await fn(file, new UserStore(file));
  } finally {
    await config.remove();
  }
}

test('a password is kept as a scrypt hash and checked against it; short ones are refused', () =>
  withStore(async (file, store) => {
    await store.add('lisa', { password: 'correct horse', profiles: ['lisa.tat'] });
    const text = await fs.readFile(file, 'utf8');
    assert.ok(!text.includes('correct horse'), 'no password in the file');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    const lisa = store.find('lisa')!;
    assert.equal((await store.authenticate('lisa', 'correct horse'))?.name, 'lisa');
    assert.equal(await store.authenticate('lisa', 'correct horsE'), null);
    assert.equal(await store.authenticate('nobody', 'correct horse'), null, 'an unknown name is checked against a hash too, and fails');
    await assert.rejects(store.add('bob', { password: 'short' }), (e: unknown) => e instanceof UserError && e.code === 'password_too_short');
    await assert.rejects(store.add('lisa', { password: 'another pass' }), (e: unknown) => e instanceof UserError && e.code === 'user_exists');
    assert.deepEqual(viewOf(lisa), { name: 'lisa', admin: false, profiles: ['lisa.tat'], current: 'lisa.tat', has_password: true, tokens: [] });
  }));

test('API tokens: shown once, kept as hashes, found by the token, gone when revoked', () =>
  withStore(async (file, store) => {
    await store.add('lisa', { password: 'correct horse' });
    const { id, token } = await store.createToken('lisa', 'cron');
    assert.match(token, /^tat_[A-Za-z0-9_-]{40,}$/);
    assert.ok(!(await fs.readFile(file, 'utf8')).includes(token), 'no token in the file');
    assert.equal(store.byToken(token)?.user.name, 'lisa');
    assert.equal(store.byToken(`${token}x`), undefined);
    await store.revokeToken('lisa', id);
    assert.equal(store.byToken(token), undefined);
  }));

test('grants and the current profile', () =>
  withStore(async (_file, store) => {
    await store.add('lisa', { password: 'correct horse' });
    assert.equal(store.find('lisa')!.current, null);
    await store.grant('lisa', 'a');
    await store.grant('lisa', 'b');
    assert.deepEqual(store.find('lisa')!.profiles, ['a', 'b']);
    assert.equal(store.find('lisa')!.current, 'a', 'the first grant becomes current');
    assert.equal(store.owner('b')?.name, 'lisa');
    await store.setCurrent('lisa', 'b');
    await store.revoke('lisa', 'b');
    assert.equal(store.find('lisa')!.current, 'a', 'a revoked current falls back to another grant');
  }));

test('a change made by another process (the command line) is seen within a second', () =>
  withStore(async (file, store) => {
    assert.equal(store.find('lisa'), undefined);
    await new UserStore(file).add('lisa', { password: 'correct horse' });
    await waitFor('the other store\'s change', () => store.find('lisa') !== undefined, 3000);
    const { token } = await new UserStore(file).createToken('lisa', 'x');
    await waitFor('the new token', () => store.byToken(token) !== undefined, 3000);
    await new UserStore(file).remove('lisa');
    await waitFor('the removal', () => store.byToken(token) === undefined && store.find('lisa') === undefined, 3000);
  }));

test('a corrupt users.json gives no one access, is reported, and is never overwritten', () =>
  withStore(async (file, store) => {
    await store.add('lisa', { password: 'correct horse' });
    await fs.writeFile(file, '{"users": [ {"name": "lisa", ');
    const fresh = new UserStore(file);
    assert.equal(fresh.find('lisa'), undefined);
    assert.match(fresh.problem!, /not a valid users file/);
    await assert.rejects(fresh.add('bob', { password: 'another pass' }), (e: unknown) => e instanceof UserError && e.code === 'corrupt_file');
    assert.equal(await fs.readFile(file, 'utf8'), '{"users": [ {"name": "lisa", ');
  }));
