import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenFile, toOriginalShape, type OAuthToken } from '../../shared/profiles/token.ts';

const SCOPE = 'https://www.googleapis.com/auth/spreadsheets';

/** As Python google-auth's `Credentials.to_json` writes it: naive UTC expiry with microseconds. */
const originalFile = {
  token: 'ya29.access',
  refresh_token: '1//refresh',
  token_uri: 'https://oauth2.googleapis.com/token',
  client_id: 'cid.apps.googleusercontent.com',
  client_secret: 'secret',
  scopes: [SCOPE],
  expiry: '2024-05-01T10:00:00.123456',
};

function tokenOf(value: unknown): OAuthToken {
  const parsed = parseTokenFile(value);
  assert.equal(parsed.kind, 'token', JSON.stringify(parsed));
  return (parsed as { kind: 'token'; token: OAuthToken }).token;
}

test('the original (Python google-auth) shape parses; naive expiry is read as UTC', () => {
  const t = tokenOf(originalFile);
  assert.deepEqual(t, {
    accessToken: 'ya29.access',
    refreshToken: '1//refresh',
    expiryDate: Date.UTC(2024, 4, 1, 10, 0, 0, 123),
    scopes: [SCOPE],
    tokenUri: 'https://oauth2.googleapis.com/token',
    clientId: 'cid.apps.googleusercontent.com',
    clientSecret: 'secret',
  });
});

test('expiry variants of the original shape: Z suffix, no fraction, offset, absent', () => {
  assert.equal(tokenOf({ ...originalFile, expiry: '2024-05-01T10:00:00.123456Z' }).expiryDate, Date.UTC(2024, 4, 1, 10, 0, 0, 123));
  assert.equal(tokenOf({ ...originalFile, expiry: '2024-05-01T10:00:00' }).expiryDate, Date.UTC(2024, 4, 1, 10, 0, 0));
  assert.equal(tokenOf({ ...originalFile, expiry: '2024-05-01T12:00:00+02:00' }).expiryDate, Date.UTC(2024, 4, 1, 10, 0, 0));
  const { expiry: _omit, ...noExpiry } = originalFile;
  assert.equal(tokenOf(noExpiry).expiryDate, null);
  assert.equal(tokenOf({ ...originalFile, expiry: null }).expiryDate, null);
});

test('google-auth-library\'s shape parses; scope string becomes a list', () => {
  const t = tokenOf({
    access_token: 'ya29.lib',
    refresh_token: '1//lib',
    expiry_date: 1714557600123,
    scope: `${SCOPE} https://www.googleapis.com/auth/drive.readonly`,
    token_type: 'Bearer',
  });
  assert.equal(t.accessToken, 'ya29.lib');
  assert.equal(t.refreshToken, '1//lib');
  assert.equal(t.expiryDate, 1714557600123);
  assert.deepEqual(t.scopes, [SCOPE, 'https://www.googleapis.com/auth/drive.readonly']);
});

test('a refresh token alone is enough', () => {
  assert.equal(tokenOf({ refresh_token: 'r' }).refreshToken, 'r');
  assert.equal(tokenOf({ token: null, refresh_token: 'r', client_id: 'c' }).accessToken, null);
});

test('the registration placeholder is recognised', () => {
  assert.deepEqual(parseTokenFile({ placeholder: true, handle: 'nick.tat' }), { kind: 'placeholder' });
  assert.equal(parseTokenFile({ placeholder: false, handle: 'nick.tat' }).kind, 'invalid');
});

test('garbage is invalid, with a reason', () => {
  const garbage: unknown[] = [
    null,
    'ya29.token',
    42,
    [],
    [{ token: 'x' }],
    {},
    { foo: 'bar' },
    { token: 5 },
    { token: 'x', scopes: 'not-a-list' },
    { access_token: 7 },
    { access_token: 'x', expiry_date: 'tomorrow' },
    { token: null, refresh_token: null, client_id: 'c' },
  ];
  for (const value of garbage) {
    const parsed = parseTokenFile(value);
    assert.equal(parsed.kind, 'invalid', JSON.stringify(value));
    assert.ok((parsed as { reason: string }).reason.length > 0);
  }
});

test('toOriginalShape writes exactly the original\'s keys, expiry naive UTC', () => {
  const shape = toOriginalShape({
    accessToken: 'a',
    refreshToken: 'r',
    expiryDate: Date.UTC(2024, 4, 1, 10, 0, 0, 123),
    scopes: [SCOPE],
    tokenUri: 'https://oauth2.googleapis.com/token',
    clientId: 'cid',
    clientSecret: 'cs',
  });
  assert.deepEqual(Object.keys(shape).sort(), ['client_id', 'client_secret', 'expiry', 'refresh_token', 'scopes', 'token', 'token_uri']);
  assert.equal(shape.token, 'a');
  assert.equal(shape.refresh_token, 'r');
  assert.deepEqual(shape.scopes, [SCOPE]);
  assert.equal(shape.expiry, '2024-05-01T10:00:00.123');
  assert.doesNotMatch(shape.expiry!, /Z$|[+-]\d\d:\d\d$/);
  assert.equal('access_token' in shape || 'expiry_date' in shape, false);
});

test('round trip original → parse → toOriginalShape keeps token, refresh_token, scopes and the expiry instant', () => {
  const back = toOriginalShape(tokenOf(originalFile));
  assert.equal(back.token, originalFile.token);
  assert.equal(back.refresh_token, originalFile.refresh_token);
  assert.deepEqual(back.scopes, originalFile.scopes);
  assert.equal(back.token_uri, originalFile.token_uri);
  assert.equal(back.client_id, originalFile.client_id);
  assert.equal(back.client_secret, originalFile.client_secret);
  assert.equal(Date.parse(`${back.expiry}Z`), Date.UTC(2024, 4, 1, 10, 0, 0, 123));
  // and it parses again to the same token
  assert.deepEqual(tokenOf(back), tokenOf(originalFile));
});

test('a library-shape token written in the original shape parses back the same', () => {
  const lib = tokenOf({ access_token: 'x', refresh_token: 'y', expiry_date: 1714557600000, scope: SCOPE });
  assert.deepEqual(tokenOf(toOriginalShape(lib)), lib);
});
