import { getRawBody } from '../runtime/cjs-imports.ts';
import type { Context } from 'koa';
import type { z } from 'zod';
import { ApiError } from './api-error.ts';
import { parseHandle, HANDLE_RULES, type Handle } from '../profiles/handle.ts';

export const JSON_LIMIT_BYTES = 1024 * 1024;
/** Deeper bodies are refused before parsing: validators and serialisers recurse, and no route needs more. */
const MAX_DEPTH = 64;

/** Reads a JSON request body in a Koa app: at most `limit` bytes (refused from `Content-Length` before
 *  reading when it says more), then `parseJsonBody`. */
export async function readJson<T extends z.ZodType>(ctx: Context, schema: T, limit = JSON_LIMIT_BYTES): Promise<z.infer<T>> {
  requireJsonType(ctx.request.get('content-type'));
  let bytes: Buffer;
  try {
    bytes = await getRawBody(ctx.req, { limit, length: ctx.request.length });
  } catch (error) {
    const e = error as { type?: string };
    if (e.type === 'entity.too.large') throw tooLarge(limit);
    throw new ApiError(400, 'bad_request', 'the request body could not be read');
  }
  return parseJsonBody(bytes, schema);
}

/** JSON content type only: a cross-site HTML form cannot send one. */
export function requireJsonType(contentType: string | undefined): void {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as JSON with "Content-Type: application/json"');
  }
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
}

/** The one reading of a JSON body, for the supervisor's decisions and the workers' handlers alike: UTF-8
 *  only (a byte-order mark is dropped, invalid bytes refused), at most 64 levels deep, no key twice in an
 *  object (however it is spelled: `"\u0068andle"` is `"handle"`), then validated. */
export function parseJsonBody<T extends z.ZodType>(bytes: Uint8Array, schema: T): z.infer<T> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(400, 'invalid_json', 'the request body is not valid UTF-8');
  }
  const shape = scan(text);
  if (shape.depth > MAX_DEPTH) throw new ApiError(400, 'invalid_body', `the JSON body is nested more than ${MAX_DEPTH} levels deep`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
  }
  if (shape.duplicate !== null) throw new ApiError(400, 'invalid_json', `the key ${JSON.stringify(shape.duplicate)} appears twice in one object`);
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

/** The deepest nesting of arrays and objects in JSON text, and the first key that appears twice in one
 *  object, without parsing it (meaningful for valid JSON, which is checked next). */
function scan(text: string): { depth: number; duplicate: string | null } {
  const objects: (Set<string> | null)[] = []; // null: an array
  let max = 0;
  let expectKey = false;
  let duplicate: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \\ */) i++;
        else if (d === 34) break;
      }
      const keys = objects[objects.length - 1];
      if (expectKey && keys && duplicate === null) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          continue; // not valid JSON: JSON.parse says so
        }
        if (keys.has(key)) duplicate = key;
        keys.add(key);
      }
      expectKey = false;
    } else if (c === 123 /* { */) {
      objects.push(new Set());
      max = Math.max(max, objects.length);
      expectKey = true;
    } else if (c === 91 /* [ */) {
      objects.push(null);
      max = Math.max(max, objects.length);
      expectKey = false;
    } else if (c === 125 || c === 93 /* } ] */) {
      objects.pop();
      expectKey = false;
    } else if (c === 44 /* , */) {
      expectKey = objects[objects.length - 1] instanceof Set;
    }
  }
  return { depth: max, duplicate };
}
