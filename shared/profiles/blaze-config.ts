import { z } from 'zod';

/** No control characters: these values end up in forms, headers and log lines. */
const text = (max: number) =>
  z
    .string()
    .max(max, { error: `must be at most ${max} characters` })
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), { error: 'must not contain control characters' });
// No user name or password inside a URL: URLs are shown back (get-credentials), passwords never are.
const httpUrl = z.union([
  z.literal(''),
  z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), { error: 'must not hold a user name or password: save those in their own fields' }),
]);

/** The flat blaze config (README, "Files under the config dir"), every field optional. */
export const BlazeConfigSchema = z.object({
  mis_username: text(320).optional(),
  mis_password: text(1024).optional(),
  blaze_email: text(320).optional(),
  blaze_password: text(1024).optional(),
  blaze_api_url: httpUrl.optional(),
  google_sheet_url: httpUrl.optional(),
  mis_url: httpUrl.optional(),
  /** The origin each password was saved for: it is typed or sent nowhere else. Kept by the worker, never
   *  given in a save request. */
  mis_password_origin: z.string().max(2048).optional(),
  blaze_password_origin: z.string().max(2048).optional(),
});
export type BlazeConfig = z.infer<typeof BlazeConfigSchema>;

/** A save request: the fields a person sets, unknown ones refused so a typo is not silently dropped. */
export const BlazeConfigPatchSchema = BlazeConfigSchema.omit({ mis_password_origin: true, blaze_password_origin: true }).strict();
export type BlazeConfigPatch = z.infer<typeof BlazeConfigPatchSchema>;

/** The URLs used when a profile saves none (settings MIS_URL, BLAZE_API_URL). */
export interface DefaultUrls {
  MIS_URL: string;
  BLAZE_API_URL: string;
}

/** Each password with the URL it is for. */
const PASSWORDS = [
  { name: 'MIS', password: 'mis_password', url: 'mis_url', origin: 'mis_password_origin', fallback: 'MIS_URL' },
  { name: 'Blaze', password: 'blaze_password', url: 'blaze_api_url', origin: 'blaze_password_origin', fallback: 'BLAZE_API_URL' },
] as const;

/** A save that would send a saved password to another site: refused unless the password comes again. */
export class PasswordOriginError extends Error {
  readonly field: 'mis_password' | 'blaze_password';
  constructor(field: 'mis_password' | 'blaze_password', message: string) {
    super(message);
    this.field = field;
  }
}

/** The origin a saved password may go to: the one it was saved for, or (a file from before origins were
 *  kept) the origin of the URL in use. */
export function passwordOrigin(config: BlazeConfig, which: 'mis' | 'blaze', defaults: DefaultUrls): string {
  const p = PASSWORDS[which === 'mis' ? 0 : 1];
  return config[p.origin] || originOf(config[p.url] || defaults[p.fallback]);
}

/** The stored config after a save. A password is kept with the origin of the URL it was saved for; moving
 *  that URL to another origin needs the password again in the same request (README, "Letting colleagues
 *  in"), so a saved password never goes to a site that someone else chose later. */
export function applyBlazePatch(stored: BlazeConfig, patch: BlazeConfigPatch, defaults: DefaultUrls): BlazeConfig {
  const next: BlazeConfig = { ...stored, ...patch };
  for (const p of PASSWORDS) {
    const url = originOf(next[p.url] || defaults[p.fallback]);
    if (patch[p.password] !== undefined) {
      if (patch[p.password]) next[p.origin] = url;
      else delete next[p.origin];
      continue;
    }
    if (!stored[p.password]) continue;
    const savedFor = passwordOrigin(stored, p.password === 'mis_password' ? 'mis' : 'blaze', defaults);
    if (url !== savedFor) {
      throw new PasswordOriginError(p.password, `the ${p.name} password was saved for ${savedFor}; to use ${url} instead, send the password again in the same request (${p.password})`);
    }
    next[p.origin] = savedFor;
  }
  return next;
}

/** `scheme://host:port` of a URL ('' when it is none). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** Reads a stored blaze config in either shape: flat, or the original's legacy nested one. */
export function normaliseBlazeConfig(value: unknown): BlazeConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const v = value as Record<string, any>;
  const nested = isObject(v.mis) || isObject(v.blaze) || isObject(v.google_sheet);
  const flat: Record<string, unknown> = nested
    ? {
        mis_username: v.mis?.username,
        mis_password: v.mis?.password,
        mis_url: v.mis?.url,
        blaze_email: v.blaze?.email,
        blaze_password: v.blaze?.password,
        blaze_api_url: v.blaze?.api_url,
        google_sheet_url: v.google_sheet?.default_url,
        ...pickStrings(v),
      }
    : pickStrings(v);
  const result: BlazeConfig = {};
  for (const key of Object.keys(BlazeConfigSchema.shape) as (keyof BlazeConfig)[]) {
    if (typeof flat[key] === 'string') result[key] = flat[key] as string;
  }
  return result;
}

/** What may leave the process: everything but the passwords, which become `*_password_set` flags. */
export function publicBlazeConfig(config: BlazeConfig) {
  const { mis_password, blaze_password, mis_password_origin: _mis, blaze_password_origin: _blaze, ...rest } = config;
  return {
    ...rest,
    mis_password_set: Boolean(mis_password),
    blaze_password_set: Boolean(blaze_password),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pickStrings(v: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
}
