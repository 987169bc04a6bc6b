import getRawBody from 'raw-body';
import type { Context } from 'koa';
import type { z } from 'zod';
import { ApiError } from './api-error.ts';
import { parseHandle, HANDLE_RULES, type Handle } from './handle.ts';

export const JSON_LIMIT_BYTES = 1024 * 1024;
/** Deeper bodies are refused before parsing: validators and serialisers recurse, and no route needs more. */
const MAX_DEPTH = 64;

/** Reads a JSON request body: JSON content type only (a cross-site HTML form cannot send one), at most
 *  `limit` bytes (refused from `Content-Length` before reading when it says more), parsed, then validated. */
export async function readJson<T extends z.ZodType>(ctx: Context, schema: T, limit = JSON_LIMIT_BYTES): Promise<z.infer<T>> {
  const type = ctx.request.type;
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as JSON with "Content-Type: application/json"');
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit, length: ctx.request.length, encoding: 'utf8' });
  } catch (error) {
    const e = error as { type?: string; status?: number };
    if (e.type === 'entity.too.large') {
      throw new ApiError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
    }
    throw new ApiError(400, 'bad_request', 'the request body could not be read');
  }
  if (nestingDepth(text) > MAX_DEPTH) {
    throw new ApiError(400, 'invalid_body', `the JSON body is nested more than ${MAX_DEPTH} levels deep`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const fields = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    throw new ApiError(400, 'invalid_body', `invalid request body: ${fields}`, { issues });
  }
  return result.data;
}

/** A handle from a body, URL or env var, or a 400 `invalid_handle` that explains the rules. */
export function requireHandle(raw: unknown): Handle {
  const handle = parseHandle(raw);
  if (handle === null) throw new ApiError(400, 'invalid_handle', `invalid handle: ${HANDLE_RULES}`);
  return handle;
}

/** The deepest nesting of arrays and objects in JSON text (strings skipped), without parsing it. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91 /* { [ */) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93 /* } ] */) depth--;
  }
  return max;
}
