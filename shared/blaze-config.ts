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
});
export type BlazeConfig = z.infer<typeof BlazeConfigSchema>;

/** A save request: the same fields, unknown ones refused so a typo is not silently dropped. */
export const BlazeConfigPatchSchema = BlazeConfigSchema.strict();

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
  const { mis_password, blaze_password, ...rest } = config;
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
