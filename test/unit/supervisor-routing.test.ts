// Where a request goes, from its raw URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeOf } from '../../supervisor/proxy/routing.ts';

test('/p/<h>/… goes to the profile, prefix stripped, query kept', () => {
  assert.deepEqual(routeOf('/p/nick.tat/'), { kind: 'profile', handle: 'nick.tat', path: '/', prefix: '/p/nick.tat' });
  assert.deepEqual(routeOf('/p/nick.tat/api/profile/current'), { kind: 'profile', handle: 'nick.tat', path: '/api/profile/current', prefix: '/p/nick.tat' });
  assert.deepEqual(routeOf('/p/store-la/api/sheets/values?tab=A&range=A1%3AB2'), {
    kind: 'profile',
    handle: 'store-la',
    path: '/api/sheets/values?tab=A&range=A1%3AB2',
    prefix: '/p/store-la',
  });
  assert.deepEqual(routeOf('/p/a/?x=/p/b/'), { kind: 'profile', handle: 'a', path: '/?x=/p/b/', prefix: '/p/a' });
});

test('/p/<h> without the slash is the profile root (redirected), query kept', () => {
  assert.deepEqual(routeOf('/p/nick.tat'), { kind: 'profile-root', handle: 'nick.tat', query: '' });
  assert.deepEqual(routeOf('/p/nick.tat?tab=auth'), { kind: 'profile-root', handle: 'nick.tat', query: '?tab=auth' });
});

test('invalid or non-canonical handles are unknown profiles (no decoding, no case folding)', () => {
  for (const url of ['/p/', '/p//', '/p/NICK.TAT/', '/p/Nick.tat', '/p/..%2f/', '/p/../', '/p/%2e%2e/', '/p/a_b/', '/p/a%2Fb/x', '/p/.a/', '/p/-a/', `/p/${'a'.repeat(65)}/`, '/p/a..b/', '/p/%20a/', '/p/a%00/']) {
    assert.equal(routeOf(url).kind, 'unknown-profile', url);
  }
  assert.deepEqual(routeOf('/p/NICK.TAT/x'), { kind: 'unknown-profile', segment: 'NICK.TAT' });
  assert.equal(routeOf(`/p/${'a'.repeat(64)}/`).kind, 'profile');
});

test('/api… goes to the current profile unchanged; everything else is the supervisor\'s own', () => {
  for (const url of ['/api', '/api/', '/api/profile/current', '/api?x=1', '/api/profile/check-credentials/a?x=1']) {
    assert.deepEqual(routeOf(url), { kind: 'api', path: url });
  }
  for (const url of ['/', '/apix', '/api-docs', '/healthz', '/metrics', '/supervisor/api/workers', '/P/a/', '/pa/', '/assets/base.css']) {
    assert.deepEqual(routeOf(url), { kind: 'app' }, url);
  }
});
