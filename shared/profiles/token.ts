import { z } from 'zod';

/** A token file as the original (Python google-auth `Credentials.to_json`) writes it. */
export const OriginalTokenSchema = z.object({
  token: z.string().nullish(),
  refresh_token: z.string().nullish(),
  token_uri: z.string().nullish(),
  client_id: z.string().nullish(),
  client_secret: z.string().nullish(),
  scopes: z.array(z.string()).nullish(),
  expiry: z.string().nullish(),
});

/** A token as google-auth-library's `Credentials` holds it. */
export const LibraryTokenSchema = z.object({
  access_token: z.string().nullish(),
  refresh_token: z.string().nullish(),
  expiry_date: z.number().nullish(),
  scope: z.string().nullish(),
  token_type: z.string().nullish(),
});

export const PlaceholderTokenSchema = z.object({ placeholder: z.literal(true), handle: z.string() });

/** What the rest of the code works with, whichever shape the file had. */
export interface OAuthToken {
  accessToken: string | null;
  refreshToken: string | null;
  /** Milliseconds since the epoch. */
  expiryDate: number | null;
  scopes: string[];
  tokenUri: string | null;
  clientId: string | null;
  clientSecret: string | null;
}

export type TokenFile =
  | { kind: 'placeholder' }
  | { kind: 'token'; token: OAuthToken }
  | { kind: 'invalid'; reason: string };

export function parseTokenFile(value: unknown): TokenFile {
  if (PlaceholderTokenSchema.safeParse(value).success) return { kind: 'placeholder' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', reason: 'not a JSON object' };
  }
  if ('token' in value || 'client_id' in value || 'expiry' in value) {
    const t = OriginalTokenSchema.safeParse(value);
    if (!t.success) return { kind: 'invalid', reason: describe(t.error) };
    const expiry = t.data.expiry ? Date.parse(normaliseIsoDate(t.data.expiry)) : NaN;
    return usable({
      accessToken: t.data.token ?? null,
      refreshToken: t.data.refresh_token ?? null,
      expiryDate: Number.isFinite(expiry) ? expiry : null,
      scopes: t.data.scopes ?? [],
      tokenUri: t.data.token_uri ?? null,
      clientId: t.data.client_id ?? null,
      clientSecret: t.data.client_secret ?? null,
    });
  }
  const t = LibraryTokenSchema.safeParse(value);
  if (!t.success) return { kind: 'invalid', reason: describe(t.error) };
  return usable({
    accessToken: t.data.access_token ?? null,
    refreshToken: t.data.refresh_token ?? null,
    expiryDate: t.data.expiry_date ?? null,
    scopes: t.data.scope ? t.data.scope.split(/\s+/).filter(Boolean) : [],
    tokenUri: null,
    clientId: null,
    clientSecret: null,
  });
}

/** The original's shape, so token files move between this system and the original app. */
export function toOriginalShape(token: OAuthToken): z.infer<typeof OriginalTokenSchema> {
  return {
    token: token.accessToken,
    refresh_token: token.refreshToken,
    token_uri: token.tokenUri,
    client_id: token.clientId,
    client_secret: token.clientSecret,
    scopes: token.scopes,
    // Python's google-auth writes naive UTC ISO timestamps without a zone suffix.
    expiry: token.expiryDate === null ? null : new Date(token.expiryDate).toISOString().replace(/Z$/, ''),
  };
}

function usable(token: OAuthToken): TokenFile {
  if (!token.accessToken && !token.refreshToken) {
    return { kind: 'invalid', reason: 'holds neither an access token nor a refresh token' };
  }
  return { kind: 'token', token };
}

/** Python writes `2024-05-01T10:00:00.123456` (naive UTC, microseconds): make it parseable as UTC. */
function normaliseIsoDate(s: string): string {
  const trimmed = s.replace(/(\.\d{3})\d+/, '$1');
  return /[zZ]|[+-]\d\d:?\d\d$/.test(trimmed) ? trimmed : `${trimmed}Z`;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
}
