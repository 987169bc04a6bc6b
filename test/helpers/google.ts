import assert from 'node:assert/strict';
import { clientFile, TEST_CLIENT_SECRET, type TestConfigDir } from './config-dir.ts';
import { requestUrl, type Client, type Reply } from './http.ts';
import { SHEETS_SCOPE, type FakeGoogle } from '../fixtures/fake-google.ts';

export const clientIdOf = (handle: string) => `${handle}.apps.googleusercontent.com`;

/** Writes the profile's credentials file pointing at the fake (top-level `installed`, or `web` registered for
 *  exactly `redirectUris`) and registers the same client with the fake. */
export async function useFakeGoogle(
  config: TestConfigDir,
  fake: FakeGoogle,
  handle: string,
  options: { kind?: 'installed' | 'web'; redirectUris?: string[] } = {},
): Promise<void> {
  const kind = options.kind ?? 'installed';
  const section = clientFile(handle, { auth_uri: fake.authUri, token_uri: fake.tokenUri, ...(options.redirectUris ? { redirect_uris: options.redirectUris } : {}) }).installed;
  await config.writeJson(`google_creds/credentials_${handle}.json`, { [kind]: section });
  fake.addClient({ client_id: clientIdOf(handle), client_secret: TEST_CLIENT_SECRET, kind, ...(options.redirectUris ? { redirect_uris: options.redirectUris } : {}) });
}

export interface Connected {
  authUrl: URL;
  redirectUri: string;
  /** The callback URL Google sent the browser to, aimed at 127.0.0.1 (the worker listens there only). */
  callback: string;
  page: Reply;
}

/** The whole web flow as a person's browser does it: POST /api/auth/google, open auth_url at the fake (which
 *  answers 302 to the redirect URI), then open that callback on the worker. */
export async function connectGoogle(api: Client, fake: FakeGoogle): Promise<Connected> {
  const start = await api.post('/api/auth/google');
  assert.equal(start.status, 200, start.text);
  assert.equal(start.body.success, true);
  const authUrl = new URL(start.body.auth_url);
  assert.equal(`${authUrl.origin}${authUrl.pathname}`, fake.authUri);
  const port = new URL(api.base).port;
  assert.equal(start.body.redirect_uri, `http://localhost:${port}/api/auth/google/callback`);
  assert.equal(authUrl.searchParams.get('redirect_uri'), start.body.redirect_uri);
  assert.equal(authUrl.searchParams.get('response_type'), 'code');
  assert.equal(authUrl.searchParams.get('access_type'), 'offline');
  assert.ok((authUrl.searchParams.get('scope') ?? '').split(' ').includes(SHEETS_SCOPE));
  assert.ok((authUrl.searchParams.get('state') ?? '').length >= 16, 'state is missing or short');

  const consent = await requestUrl(authUrl);
  assert.equal(consent.status, 302, consent.text);
  const location = new URL(consent.headers.location!);
  assert.equal(`${location.origin}${location.pathname}`, start.body.redirect_uri);
  assert.equal(location.searchParams.get('state'), authUrl.searchParams.get('state'));
  location.hostname = '127.0.0.1';
  const callback = location.toString();
  const page = await api.get(callback.slice(api.base.length), { accept: 'text/html,application/xhtml+xml' });
  return { authUrl, redirectUri: start.body.redirect_uri, callback, page };
}

/** The token file in the original's shape, exactly these keys. */
export const ORIGINAL_TOKEN_KEYS = ['client_id', 'client_secret', 'expiry', 'refresh_token', 'scopes', 'token', 'token_uri'];
