import { randomBytes } from 'node:crypto';
import type { OAuth2Client, Credentials } from 'google-auth-library';
import { ApiError } from '../../shared/http/api-error.ts';
import type { Handle } from '../../shared/profiles/handle.ts';
import type { Logger } from '../../shared/runtime/logger.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import type { OAuthToken } from '../../shared/profiles/token.ts';
import { readClientFile, type OAuthClientConfig } from './client-file.ts';

export const SHEETS_SCOPE = 'https://www.googleapis.com/auth/spreadsheets';
const STATE_TTL_MS = 10 * 60 * 1000;
/** Failures to reach Google at all (DNS, no route, refused, timed out), as opposed to Google refusing. */
const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** One profile's Google account: the OAuth web flow, the token file, and an authorised client that
 *  writes refreshed tokens back. google-auth-library is loaded on first use only. */
export class GoogleAccount {
  readonly #handle: Handle;
  readonly #store: ProfileStore;
  readonly #log: Logger;
  readonly #redirectUri: string;
  /** What fixes a token Google no longer takes. */
  readonly #fix: string;
  /** Pending `state` values → when they expire (monotonic ms). Single use. */
  readonly #states = new Map<string, number>();
  #client: OAuth2Client | null = null;

  constructor(options: { handle: Handle; store: ProfileStore; log: Logger; redirectUri: string; apiBase: string }) {
    this.#fix = `connect Google again: "Connect Google" on the profile's page, or POST ${options.apiBase}/auth/google`;
    this.#handle = options.handle;
    this.#store = options.store;
    this.#log = options.log;
    this.#redirectUri = options.redirectUri;
  }

  get redirectUri(): string {
    return this.#redirectUri;
  }

  /** Starts the web flow: the URL the person opens (never opened on the server, never waited for). */
  async authUrl(): Promise<string> {
    const client = await this.#newClient(await this.#clientConfig());
    const now = performance.now();
    for (const [s, expires] of this.#states) if (expires < now) this.#states.delete(s);
    const state = randomBytes(24).toString('base64url');
    this.#states.set(state, now + STATE_TTL_MS);
    return client.generateAuthUrl({ access_type: 'offline', prompt: 'consent', scope: [SHEETS_SCOPE], state, include_granted_scopes: true });
  }

  /** Finishes the flow: checks `state`, exchanges the code, writes the token in the original's shape. */
  async completeFlow(code: string, state: string): Promise<void> {
    const expires = this.#states.get(state);
    this.#states.delete(state);
    if (expires === undefined || expires < performance.now()) {
      throw new ApiError(400, 'invalid_state', 'this sign-in link is unknown, already used or older than 10 minutes; start again from "Connect Google"');
    }
    const config = await this.#clientConfig();
    const client = await this.#newClient(config);
    let tokens: Credentials;
    try {
      ({ tokens } = await client.getToken({ code, redirect_uri: this.#redirectUri }));
    } catch (error) {
      const failure = this.#tokenError(error, 'the authorisation code could not be exchanged', config.token_uri);
      // Google never saw the code: the same answer may be tried again (the page offers "Try again").
      if (failure instanceof ApiError && failure.code === 'google_unreachable') this.#states.set(state, expires);
      throw failure;
    }
    const previous = await this.#store.readToken(this.#handle);
    const refreshToken = tokens.refresh_token ?? (previous.kind === 'token' ? previous.token.refreshToken : null);
    await this.#store.writeToken(this.#handle, toStoredToken(tokens, config, refreshToken));
    this.#client = null;
    this.#log.info({ scopes: tokens.scope }, 'Google account connected');
  }

  /** An authorised client for API calls; refreshed tokens are written back to the token file. */
  async client(): Promise<OAuth2Client> {
    if (this.#client) return this.#client;
    const stored = await this.#store.readToken(this.#handle);
    if (stored.kind !== 'token') {
      const why = stored.kind === 'corrupt' || stored.kind === 'invalid' ? 'its token file is unreadable' : 'it is not connected yet';
      throw new ApiError(409, 'not_authenticated', `the Google account of "${this.#handle}" cannot be used: ${why}; ${this.#fix}`);
    }
    const config = await this.#clientConfig();
    const client = await this.#newClient(config);
    const token = stored.token;
    client.setCredentials({ access_token: token.accessToken, refresh_token: token.refreshToken, expiry_date: token.expiryDate });
    client.on('tokens', (fresh: Credentials) => {
      const merged = toStoredToken({ ...fresh, scope: fresh.scope ?? token.scopes.join(' ') }, config, fresh.refresh_token ?? token.refreshToken);
      this.#store.writeToken(this.#handle, merged).then(
        () => this.#log.info('refreshed Google token saved'),
        (error) => {
          // A config dir that cannot be written (read-only, full) is a warning; anything else a bug, with its stack.
          const code = (error as NodeJS.ErrnoException).code;
          if (code) this.#log.warn({ error: 'storage_error', code, reason: (error as Error).message }, 'could not save the refreshed Google token');
          else this.#log.error({ err: error }, 'could not save the refreshed Google token');
        },
      );
    });
    this.#client = client;
    return client;
  }

  /** Runs an API call, turning Google's refusals into the errors the guide documents. */
  async call<T>(task: (client: OAuth2Client) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      return await task(client);
    } catch (error) {
      throw this.#tokenError(error, 'the Google API call failed');
    }
  }

  /** Sign-ins begun and not finished are forgotten: their links no longer work (a cancelled connect). */
  forgetPendingSignIns(): void {
    this.#states.clear();
  }

  #tokenError(error: unknown, what: string, url?: string): Error {
    if (error instanceof ApiError) return error;
    const e = error as { message?: string; code?: string; status?: number; response?: { status?: number; data?: { error?: unknown } } };
    if (!e.response && typeof e.code === 'string' && NETWORK_CODES.has(e.code)) {
      const host = url ? new URL(url).host : 'Google';
      return new ApiError(502, 'google_unreachable', `this server could not reach Google at ${host} (${e.code})`, { host });
    }
    const data = e.response?.data?.error;
    const code = typeof data === 'string' ? data : (data as { status?: string } | undefined)?.status;
    if (code === 'invalid_grant' || /invalid_grant/.test(e.message ?? '')) {
      this.#client = null;
      return new ApiError(401, 'token_expired_or_revoked', `Token has been expired or revoked for "${this.#handle}"; ${this.#fix}`);
    }
    const status = e.response?.status ?? e.status;
    if (status === 401 || status === 403) {
      return new ApiError(403, 'not_authenticated', `Google refused the request (${status}); check that the Sheets API is enabled and the sheet is shared with this account, or ${this.#fix}`);
    }
    if (status === 404) return new ApiError(404, 'not_found', `${what}: Google answered 404 (check the spreadsheet id or tab name)`);
    if (status === 400) {
      // Google refuses what the person asked for (a tab that does not exist, a range it cannot parse): say so.
      const said = (data as { message?: unknown } | undefined)?.message;
      return new ApiError(400, 'invalid_body', `${what}: Google refused the request${typeof said === 'string' ? ` (${said.slice(0, 200)})` : ''}; check the tab name and range`);
    }
    // Google failing (5xx, an unknown answer) is expected now and then: the reason, no stack.
    this.#log.warn({ error: 'bad_gateway', status, code: e.code, reason: (e.message ?? '').split('\n')[0] }, what);
    return new ApiError(502, 'bad_gateway', `${what}: ${status ? `Google answered ${status}` : (e.message ?? 'network error')}`);
  }

  async #clientConfig(): Promise<OAuthClientConfig> {
    const file = this.#store.profilePaths(this.#handle).credentials;
    const read = await readClientFile(file);
    if (read.status === 'ok') return read.client;
    const expected = this.#store.relative(file);
    if (read.status === 'missing') {
      throw new ApiError(404, 'credentials_not_found', `Google OAuth credentials file not found: save the OAuth client JSON from Google Cloud Console as ${expected}`, { expected_path: expected });
    }
    throw new ApiError(422, 'credentials_not_found', `the Google OAuth credentials file ${expected} is not usable (${read.reason}); download it again from Google Cloud Console`, { expected_path: expected });
  }

  async #newClient(config: OAuthClientConfig): Promise<OAuth2Client> {
    const { OAuth2Client } = await import('google-auth-library');
    return new OAuth2Client({
      clientId: config.client_id,
      clientSecret: config.client_secret,
      redirectUri: this.#redirectUri,
      endpoints: { oauth2AuthBaseUrl: config.auth_uri, oauth2TokenUrl: config.token_uri },
      // Google can invalidate an access token before its expiry: on a 401/403 refresh once and retry, as the
      // original's google-auth transport does, instead of failing until the stored expiry passes.
      forceRefreshOnFailure: true,
    });
  }
}

function toStoredToken(tokens: Credentials, config: OAuthClientConfig, refreshToken: string | null | undefined): OAuthToken {
  return {
    accessToken: tokens.access_token ?? null,
    refreshToken: refreshToken ?? null,
    expiryDate: tokens.expiry_date ?? null,
    scopes: (tokens.scope ?? SHEETS_SCOPE).split(/\s+/).filter(Boolean),
    tokenUri: config.token_uri,
    clientId: config.client_id,
    clientSecret: config.client_secret,
  };
}
