import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export type JsonRead<T = unknown> =
  | { status: 'ok'; value: T }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

export interface WriteOptions {
  /** File holds a secret: mode 0600 and its folder 0700. */
  secret?: boolean;
  /** Fail with `EEXIST` instead of replacing an existing file (used where exactly one writer may win). */
  exclusive?: boolean;
}

export class FileWriteError extends Error {
  readonly file: string;
  readonly code: string | undefined;
  constructor(file: string, cause: NodeJS.ErrnoException) {
    super(`cannot write ${file}: ${cause.code ?? cause.message}`, { cause });
    this.file = file;
    this.code = cause.code;
  }
}

/** Reads and parses a JSON file. A missing file is `missing`; an unreadable or unparsable one is `corrupt`
 *  (the caller logs it by name and treats it as absent, never overwrites it). */
export async function readJsonFile<T = unknown>(file: string): Promise<JsonRead<T>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'missing' };
    return { status: 'corrupt', reason: `unreadable (${code ?? 'error'})` };
  }
  try {
    return { status: 'ok', value: JSON.parse(text) as T };
  } catch (error) {
    return { status: 'corrupt', reason: `not valid JSON (${withoutQuote((error as Error).message)})` };
  }
}

/** V8 quotes up to 10 characters either side of the offending token (`Unexpected token 'h', ..."assword":
 *  hunter2}"... is not valid JSON`): in a token or blaze config file that can be a whole password. The reason
 *  goes to logs and answers, so the quote is cut. */
function withoutQuote(message: string): string {
  return message.replace(/,\s*(?:\.\.\.)?".*"(?:\.\.\.)?\s+is not valid JSON\s*$/s, '');
}

export async function ensureDir(dir: string, secret = false): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: secret ? 0o700 : 0o755 });
  if (secret) await fs.chmod(dir, 0o700);
}

/** Atomic JSON write: temp file in the same folder, fsync, rename (or link when exclusive), fsync of the
 *  folder. A crash at any point leaves either the old file or the new one, never a half-written one. */
export async function writeJsonFileAtomic(file: string, value: unknown, options: WriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = options.secret ? 0o600 : 0o644;
  try {
    await ensureDir(dir, options.secret);
    const handle = await fs.open(temp, 'wx', mode);
    try {
      await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) {
      await fs.link(temp, file);
      await fs.unlink(temp);
    } else {
      await fs.rename(temp, file);
    }
    await syncDir(dir);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => {});
    throw new FileWriteError(file, error as NodeJS.ErrnoException);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
