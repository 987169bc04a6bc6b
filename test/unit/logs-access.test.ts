// The logs view under the access policy: the stream is a route of one worker, like the JSON logs (a person
// reaches only their own profiles' lines); the page itself only needs a sign-in (AUTH=none: everyone local).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type Wanted } from '../../supervisor/access-policy.ts';
import { wantedOf } from '../../supervisor/app-access.ts';
import type { Identity } from '../../supervisor/identity.ts';
import type { UserRecord } from '../../shared/users.ts';

const lisa: UserRecord = { name: 'lisa', admin: false, profiles: ['lisa.tat'], current: 'lisa.tat', password: null, password_changed_at: new Date(0).toISOString(), tokens: [] };
const owners = new Map([['lisa.tat', lisa]]);
const asLisa: Identity = { kind: 'user', user: lisa, via: 'session' };
const may = (identity: Identity, wanted: Wanted) => decide(identity, wanted, (h) => owners.get(h)).allow;

test('the logs stream is classified like the JSON logs: one worker\'s route', () => {
  for (const path of ['/supervisor/api/workers/lisa.tat/logs', '/supervisor/api/workers/lisa.tat/logs/stream']) {
    assert.deepEqual(wantedOf('GET', path, true), { kind: 'worker', handle: 'lisa.tat' }, path);
  }
  assert.deepEqual(wantedOf('GET', '/logs', false), { kind: 'signed-in' });
  for (const asset of ['/assets/logs.js', '/assets/logs.css']) assert.deepEqual(wantedOf('GET', asset, false), { kind: 'signed-in' }, asset);
});

test('a person follows only their own profile\'s lines; AUTH=none on loopback: everyone; signed out: nobody', () => {
  const own = wantedOf('GET', '/supervisor/api/workers/lisa.tat/logs/stream', false);
  const other = wantedOf('GET', '/supervisor/api/workers/bob.tat/logs/stream', false);
  assert.equal(may(asLisa, own), true);
  const refused = decide(asLisa, other, (h) => owners.get(h));
  assert.equal(refused.allow || refused.status, 403);
  assert.equal(may({ kind: 'local' } as Identity, other), true);
  assert.equal(may({ kind: 'anonymous' } as Identity, own), false);
  assert.equal(may(asLisa, wantedOf('GET', '/logs', false)), true);
  assert.equal(may({ kind: 'anonymous' } as Identity, wantedOf('GET', '/logs', false)), false);
});
