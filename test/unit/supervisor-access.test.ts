// Who may use the supervisor's write endpoints: the bearer token when SUPERVISOR_TOKEN is set,
// otherwise loopback clients only. Non-loopback addresses appear here as data only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkWriteAccess, isLoopbackAddress } from '../../supervisor/access.ts';

test('isLoopbackAddress: 127.0.0.0/8, ::1 and their IPv4-mapped forms', () => {
  for (const address of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::ffff:127.9.9.9']) {
    assert.equal(isLoopbackAddress(address), true, address);
  }
  for (const address of ['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1', '::ffff:192.168.1.2', '172.16.0.1', '0.0.0.0', '::', 'fe80::1', '2001:db8::1', '128.0.0.1', '1.127.0.0', '', undefined]) {
    assert.equal(isLoopbackAddress(address), false, String(address));
  }
});

test('checkWriteAccess without a token: loopback allowed, anything else 403', () => {
  for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
    assert.deepEqual(checkWriteAccess({ remoteAddress, authorization: undefined }, undefined), { allowed: true });
  }
  for (const remoteAddress of ['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1', undefined]) {
    const decision = checkWriteAccess({ remoteAddress, authorization: undefined }, undefined);
    assert.equal(decision.allowed, false, String(remoteAddress));
    assert.equal(decision.allowed === false && decision.status, 403);
    // a bearer header means nothing when no token is configured
    assert.equal(checkWriteAccess({ remoteAddress, authorization: 'Bearer anything' }, undefined).allowed, false);
  }
});

test('checkWriteAccess with a token: the right bearer from anywhere, nothing else (loopback included)', () => {
  const token = 'T0ken-abc';
  for (const remoteAddress of ['127.0.0.1', '10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1']) {
    assert.deepEqual(checkWriteAccess({ remoteAddress, authorization: `Bearer ${token}` }, token), { allowed: true }, remoteAddress);
    assert.deepEqual(checkWriteAccess({ remoteAddress, authorization: `bearer   ${token}` }, token), { allowed: true }, 'scheme is case-insensitive');
    for (const authorization of [undefined, '', 'Bearer', 'Bearer ', `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, token, `Bearer t0ken-abc`]) {
      const decision = checkWriteAccess({ remoteAddress, authorization }, token);
      assert.equal(decision.allowed, false, `${remoteAddress} ${authorization}`);
      assert.equal(decision.allowed === false && decision.status, 401);
    }
  }
});
