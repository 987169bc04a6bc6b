import { z } from 'zod';

/** The one definition of a profile handle (README, "Adding a profile"). Every handle from a URL, body, env var or file name
 *  goes through here before it reaches a path. */
export const HANDLE_RULES =
  '1–64 characters: lowercase letters, digits, dots and hyphens, starting with a letter or digit, no ".."';

const HANDLE_PATTERN = /^[a-z0-9][a-z0-9.-]{0,63}$/;

export const HandleSchema = z
  .string({ error: `handle must be a string (${HANDLE_RULES})` })
  .trim()
  // Before lower-casing: some non-ASCII letters lower-case to ASCII ones (KELVIN SIGN U+212A → "k").
  .regex(/^[\x21-\x7e]*$/, { error: `invalid handle: ${HANDLE_RULES}` })
  .toLowerCase()
  .regex(HANDLE_PATTERN, { error: `invalid handle: ${HANDLE_RULES}` })
  .refine((h) => !h.includes('..'), { error: `invalid handle: ${HANDLE_RULES}` });

export type Handle = z.infer<typeof HandleSchema>;

/** Trims, lower-cases and validates; `null` when the input is not a valid handle. */
export function parseHandle(input: unknown): Handle | null {
  const result = HandleSchema.safeParse(input);
  return result.success ? result.data : null;
}

/** Stricter form for handles read back from file names and URL segments: must already be canonical
 *  (trimmed, lower-case). The same rules as `HandleSchema`, without zod: this runs for every proxied request. */
export function isCanonicalHandle(input: string): boolean {
  return HANDLE_PATTERN.test(input) && !input.includes('..');
}
