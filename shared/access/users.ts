import { createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { z } from 'zod';
import { HandleSchema, type Handle } from '../profiles/handle.ts';
import { readJsonFile, writeJsonFileAtomic } from '../files/json-file.ts';
import { KeyedMutex } from '../files/keyed-mutex.ts';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;

/** A person's name: 1–64 characters of a-z 0-9 . _ - @. */
export const USER_NAME_RULES = '1–64 characters: lowercase letters, digits, ".", "_", "-" and "@"';
export const UserNameSchema = z.string().regex(/^[a-z0-9._@-]{1,64}$/, { error: `invalid user name: ${USER_NAME_RULES}` });
export const MIN_PASSWORD_LENGTH = 8;

const PasswordHash = z.object({ scrypt: z.object({ N: z.number(), r: z.number(), p: z.number() }), salt: z.string(), hash: z.string() });
const ApiToken = z.object({ id: z.string(), label: z.string(), hash: z.string(), created_at: z.string() });
const User = z.object({
  name: UserNameSchema,
  admin: z.boolean().default(false),
  profiles: z.array(HandleSchema).default([]),
  /** Where this person's unprefixed `/api/…` goes. */
  current: HandleSchema.nullable().default(null),
  password: PasswordHash.nullable().default(null),
  /** Sign-in sessions older than this ended with the password change. */
  password_changed_at: z.string().default(() => new Date(0).toISOString()),
  tokens: z.array(ApiToken).default([]),
});
const UsersFile = z.object({ users: z.array(User).default([]) });

export type UserRecord = z.infer<typeof User>;
/** What may be shown of a user: never the password hash or a token hash. */
export interface UserView {
  name: string;
  admin: boolean;
  profiles: Handle[];
  current: Handle | null;
  has_password: boolean;
  tokens: { id: string; label: string; created_at: string }[];
}

export class UserError extends Error {
  readonly code: 'user_exists' | 'user_not_found' | 'password_too_short' | 'token_not_found' | 'corrupt_file';
  constructor(code: UserError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

const SCRYPT = { N: 16384, r: 8, p: 1 };
const STAT_EVERY_MS = 1000;

/** `users.json` in the config dir (mode 0600, atomic writes): the people, what each may use, their password
 *  hashes (scrypt) and the hashes of their API tokens. Changes made by the command line or another process
 *  are picked up within a second; a corrupt file is reported and gives no one access. */
export class UserStore {
  readonly file: string;
  readonly #lock = new KeyedMutex();
  #users: UserRecord[] = [];
  #byToken = new Map<string, { user: UserRecord; tokenId: string }>();
  #stamp = '';
  #checkedAt = -Infinity;
  #problem: string | null = null;

  constructor(file: string) {
    this.file = file;
  }

  /** Why the file cannot be used (corrupt), or null. */
  get problem(): string | null {
    this.#refresh();
    return this.#problem;
  }

  list(): UserRecord[] {
    this.#refresh();
    return this.#users;
  }

  find(name: string): UserRecord | undefined {
    return this.list().find((u) => u.name === name);
  }

  /** The user an API token belongs to (and the token's id), or undefined. */
  byToken(token: string): { user: UserRecord; tokenId: string } | undefined {
    this.#refresh();
    return this.#byToken.get(tokenHash(token));
  }

  /** The user granted `handle`, if any. */
  owner(handle: Handle): UserRecord | undefined {
    return this.list().find((u) => u.profiles.includes(handle));
  }

  /** The person whose name and password these are, or null. Costs the same whether the name is unknown,
   *  has no password, or the password is wrong: the names cannot be told apart by the time an answer takes. */
  async authenticate(name: string, password: string): Promise<UserRecord | null> {
    const user = this.find(name);
    const matches = await passwordMatches(user?.password ?? NOBODY, password);
    return user?.password && matches ? user : null;
  }

  add(name: string, options: { admin?: boolean; profiles?: Handle[]; password: string }): Promise<UserRecord> {
    return this.#mutate(async (users) => {
      if (users.some((u) => u.name === name)) throw new UserError('user_exists', `there is already a user "${name}"`);
      const user = User.parse({ name, admin: options.admin ?? false, profiles: [...new Set(options.profiles ?? [])], current: options.profiles?.[0] ?? null, password: await hashPassword(options.password), password_changed_at: new Date().toISOString() });
      users.push(user);
      return user;
    });
  }

  remove(name: string): Promise<void> {
    return this.#mutate(async (users) => {
      const i = users.findIndex((u) => u.name === name);
      if (i === -1) throw notFound(name);
      users.splice(i, 1);
    });
  }

  setPassword(name: string, password: string): Promise<void> {
    return this.#mutate(async (users) => {
      const user = users.find((u) => u.name === name) ?? fail(notFound(name));
      user.password = await hashPassword(password);
      user.password_changed_at = new Date().toISOString();
    });
  }

  grant(name: string, handle: Handle): Promise<void> {
    return this.#mutate(async (users) => {
      const user = users.find((u) => u.name === name) ?? fail(notFound(name));
      if (!user.profiles.includes(handle)) user.profiles.push(handle);
      user.current ??= handle;
    });
  }

  revoke(name: string, handle: Handle): Promise<void> {
    return this.#mutate(async (users) => {
      const user = users.find((u) => u.name === name) ?? fail(notFound(name));
      user.profiles = user.profiles.filter((h) => h !== handle);
      if (user.current === handle) user.current = user.profiles[0] ?? null;
    });
  }

  setCurrent(name: string, handle: Handle): Promise<void> {
    return this.#mutate(async (users) => {
      const user = users.find((u) => u.name === name) ?? fail(notFound(name));
      user.current = handle;
    });
  }

  /** A new API token: returned once, only its hash is kept. */
  createToken(name: string, label: string): Promise<{ id: string; token: string }> {
    return this.#mutate(async (users) => {
      const user = users.find((u) => u.name === name) ?? fail(notFound(name));
      const token = `tat_${randomBytes(32).toString('base64url')}`;
      const id = randomBytes(6).toString('hex');
      user.tokens.push({ id, label: label || 'token', hash: tokenHash(token), created_at: new Date().toISOString() });
      return { id, token };
    });
  }

  revokeToken(name: string, id: string): Promise<void> {
    return this.#mutate(async (users) => {
      const user = users.find((u) => u.name === name) ?? fail(notFound(name));
      if (!user.tokens.some((t) => t.id === id)) throw new UserError('token_not_found', `"${name}" has no token "${id}"`);
      user.tokens = user.tokens.filter((t) => t.id !== id);
    });
  }

  /** Reads the file again if it changed (at most one stat a second). */
  #refresh(force = false): void {
    const now = performance.now();
    if (!force && now - this.#checkedAt < STAT_EVERY_MS) return;
    this.#checkedAt = now;
    let stamp = 'missing';
    try {
      const stat = fs.statSync(this.file, { bigint: true });
      stamp = `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    } catch {
      // no users yet
    }
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    this.#load(stamp === 'missing' ? { users: [] } : readSync(this.file));
  }

  #load(read: unknown): void {
    const parsed = UsersFile.safeParse(read);
    if (!parsed.success || read === null) {
      this.#problem = `${this.file} is not a valid users file (${parsed.success ? 'unreadable' : parsed.error.issues[0]?.message}); no one can sign in until it is fixed`;
      this.#users = [];
      this.#byToken = new Map();
      return;
    }
    this.#problem = null;
    this.#users = parsed.data.users;
    this.#byToken = new Map(this.#users.flatMap((user) => user.tokens.map((t) => [t.hash, { user, tokenId: t.id }] as const)));
  }

  #mutate<T>(change: (users: UserRecord[]) => Promise<T>): Promise<T> {
    return this.#lock.run('users', async () => {
      const read = await readJsonFile(this.file);
      if (read.status === 'corrupt') throw new UserError('corrupt_file', `${this.file} is ${read.reason}; fix or remove it first (it was left untouched)`);
      const parsed = UsersFile.safeParse(read.status === 'ok' ? read.value : { users: [] });
      if (!parsed.success) throw new UserError('corrupt_file', `${this.file} is not a valid users file; fix or remove it first (it was left untouched)`);
      const users = parsed.data.users;
      const result = await change(users);
      await writeJsonFileAtomic(this.file, { users }, { secret: true });
      this.#refresh(true);
      return result;
    });
  }
}

export function viewOf(user: UserRecord): UserView {
  return {
    name: user.name,
    admin: user.admin,
    profiles: user.profiles,
    current: user.current,
    has_password: user.password !== null,
    tokens: user.tokens.map(({ id, label, created_at }) => ({ id, label, created_at })),
  };
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

async function hashPassword(password: string): Promise<z.infer<typeof PasswordHash>> {
  if (password.length < MIN_PASSWORD_LENGTH) throw new UserError('password_too_short', `the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 64, SCRYPT);
  return { scrypt: SCRYPT, salt: salt.toString('base64'), hash: hash.toString('base64') };
}

/** A password hash that no password matches, checked for a name that has none (the same work as a real one). */
const NOBODY: z.infer<typeof PasswordHash> = {
  scrypt: SCRYPT,
  salt: 'LfLZasoK5daNNkw/7/NM1A==',
  hash: 'y5Bup3L/n7MuRID6u2zz8tvklHBFNZq+v7uig+ttUkNfx20ktWJl4EoJ8GSlKYU3iJHX1aDfbeg7LItnrGY1yg==',
};

async function passwordMatches(stored: z.infer<typeof PasswordHash>, password: string): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await scrypt(password, Buffer.from(stored.salt, 'base64'), expected.length, stored.scrypt);
  return timingSafeEqual(actual, expected);
}

function readSync(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function notFound(name: string): UserError {
  return new UserError('user_not_found', `there is no user "${name}"`);
}

function fail(error: Error): never {
  throw error;
}
