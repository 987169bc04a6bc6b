import fs from 'node:fs/promises';
import type { Logger } from '../runtime/logger.ts';
import { parseHandle, type Handle } from './handle.ts';
import { configPaths, handleFromFileName, profilePathsIn, relativeToConfig, type ConfigPaths, type ProfilePaths } from './paths.ts';
import { ensureDir, readJsonFile, writeJsonFileAtomic, type JsonRead } from '../files/json-file.ts';
import { parseTokenFile, toOriginalShape, type OAuthToken, type TokenFile } from './token.ts';
import { applyBlazePatch, normaliseBlazeConfig, type BlazeConfig, type BlazeConfigPatch, type DefaultUrls } from './blaze-config.ts';
import { KeyedMutex } from '../files/keyed-mutex.ts';
import { chooseCurrent, type CurrentProfile } from './current-profile.ts';
import { listNames, type FileViews } from '../files/file-views.ts';

export interface ProfileSummary {
  handle: Handle;
  registered: boolean;
  has_credentials: boolean;
  authenticated: boolean;
}

export type StoredToken = TokenFile | { kind: 'missing' } | { kind: 'corrupt'; reason: string };

/** Everything a profile is, on disk (docs/architecture.md, "Files under the config dir"). One instance per
 *  process; both processes use it. */
export class ProfileStore {
  readonly paths: ConfigPaths;
  readonly #log: Logger;
  readonly #locks = new KeyedMutex();
  readonly #views: FileViews | null;
  /** A worker asks for its own profile's paths on every request. */
  #lastPaths: { handle: Handle; paths: ProfilePaths } | null = null;

  /** With `views`, what is read from the files is kept in memory until they change (a worker answering its
   *  page's polls); without, every call reads the files. */
  constructor(configDir: string, log: Logger, views: FileViews | null = null) {
    this.paths = configPaths(configDir);
    this.#log = log;
    this.#views = views;
  }

  /** `load()`'s value for `file`, kept until the file changes when this store keeps views. Values are shared
   *  between callers: never changed in place. */
  view<T>(file: string, kind: string, load: () => Promise<T>): Promise<T> {
    return this.#views ? this.#views.view(file, kind, load) : load();
  }

  profilePaths(handle: Handle): ProfilePaths {
    if (this.#lastPaths?.handle !== handle) this.#lastPaths = { handle, paths: profilePathsIn(this.paths, handle) };
    return this.#lastPaths.paths;
  }

  relative(file: string): string {
    return relativeToConfig(this.paths.configDir, file);
  }

  /** Handles with a token file, and handles with a credentials file (file names only, nothing parsed). */
  async scan(): Promise<{ registered: Set<Handle>; withCredentials: Set<Handle> }> {
    const [registered, withCredentials] = await Promise.all([
      this.#handlesIn(this.paths.tokensDir, 'token_'),
      this.#handlesIn(this.paths.credentialsDir, 'credentials_'),
    ]);
    return { registered, withCredentials };
  }

  /** Valid profiles (token and credentials file both present), sorted. */
  async validHandles(): Promise<Handle[]> {
    const { registered, withCredentials } = await this.scan();
    return [...registered].filter((h) => withCredentials.has(h)).sort();
  }

  async list(): Promise<ProfileSummary[]> {
    const { registered, withCredentials } = await this.scan();
    const handles = [...new Set([...registered, ...withCredentials])].sort();
    return Promise.all(
      handles.map(async (handle) => ({
        handle,
        registered: registered.has(handle),
        has_credentials: withCredentials.has(handle),
        authenticated: registered.has(handle) && (await this.readToken(handle)).kind === 'token',
      })),
    );
  }

  async summary(handle: Handle): Promise<ProfileSummary> {
    const [hasCredentials, token] = await Promise.all([this.hasCredentials(handle), this.readToken(handle)]);
    return { handle, registered: token.kind !== 'missing', has_credentials: hasCredentials, authenticated: token.kind === 'token' };
  }

  hasCredentials(handle: Handle): Promise<boolean> {
    return this.#exists(this.profilePaths(handle).credentials);
  }

  async isValid(handle: Handle): Promise<boolean> {
    const p = this.profilePaths(handle);
    const [token, credentials] = await Promise.all([this.#exists(p.token), this.#exists(p.credentials)]);
    return token && credentials;
  }

  /** Fingerprints of the profile's credentials and token files (inode, size, modification time): how the
   *  supervisor sees that a file changed — replaced, edited or touched — even when no watcher event told it. */
  async fingerprints(handle: Handle): Promise<{ credentials: string; token: string }> {
    const p = this.profilePaths(handle);
    const [credentials, token] = await Promise.all([fingerprint(p.credentials), fingerprint(p.token)]);
    return { credentials, token };
  }

  readToken(handle: Handle): Promise<StoredToken> {
    const file = this.profilePaths(handle).token;
    return this.view(file, 'token', async () => {
      const read = await this.#readLogged(file);
      if (read.status !== 'ok') return read.status === 'missing' ? { kind: 'missing' } : { kind: 'corrupt', reason: read.reason };
      const parsed = parseTokenFile(read.value);
      if (parsed.kind === 'invalid') this.#log.warn({ file: this.relative(file), reason: parsed.reason }, 'token file is not usable');
      return parsed;
    });
  }

  /** Writes a real token in the original's shape, replacing the placeholder. */
  writeToken(handle: Handle, token: OAuthToken): Promise<void> {
    const file = this.profilePaths(handle).token;
    return this.#locks.run(file, () => this.#changing(file, writeJsonFileAtomic(file, toOriginalShape(token), { secret: true })));
  }

  /** Exactly one of several concurrent registrations wins: `false` when the token file already exists. */
  async createPlaceholderToken(handle: Handle): Promise<boolean> {
    const file = this.profilePaths(handle).token;
    try {
      await this.#changing(file, writeJsonFileAtomic(file, { placeholder: true, handle }, { secret: true, exclusive: true }));
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST') return false;
      throw error;
    }
  }

  /** Removes the token file only; `false` when there was none. */
  async deleteToken(handle: Handle): Promise<boolean> {
    const file = this.profilePaths(handle).token;
    try {
      await this.#changing(file, fs.unlink(file));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  readBlazeConfig(handle: Handle): Promise<BlazeConfig> {
    const file = this.profilePaths(handle).blazeConfig;
    return this.view(file, 'blaze', async () => {
      const read = await this.#readLogged(file);
      return read.status === 'ok' ? normaliseBlazeConfig(read.value) : {};
    });
  }

  /** The blaze config file as read (missing, damaged with why, or its content), kept like `readBlazeConfig`. */
  readBlazeConfigFile(handle: Handle): Promise<JsonRead> {
    const file = this.profilePaths(handle).blazeConfig;
    return this.view(file, 'json', () => readJsonFile(file));
  }

  /** Merges `patch` into the stored config and writes it flat (a legacy nested file is rewritten flat).
   *  A corrupt file is refused rather than replaced, so nothing the user saved is lost. */
  mergeBlazeConfig(handle: Handle, patch: BlazeConfigPatch, defaults: DefaultUrls): Promise<BlazeConfig> {
    const file = this.profilePaths(handle).blazeConfig;
    return this.#locks.run(file, async () => {
      const read = await this.#readLogged(file);
      if (read.status === 'corrupt') throw new CorruptFileError(this.relative(file), read.reason);
      const merged = applyBlazePatch(read.status === 'ok' ? normaliseBlazeConfig(read.value) : {}, patch, defaults);
      await this.#changing(file, writeJsonFileAtomic(file, merged, { secret: true }));
      return merged;
    });
  }

  /** A damaged blaze config replaced on purpose: it is kept next to itself as `….damaged-<time>` (nothing
   *  is lost) and an empty one takes its place. Returns where the damaged one went, or null when the file
   *  was not damaged (then nothing changes). */
  setAsideDamagedBlazeConfig(handle: Handle): Promise<string | null> {
    const file = this.profilePaths(handle).blazeConfig;
    return this.#locks.run(file, async () => {
      if ((await readJsonFile(file)).status !== 'corrupt') return null;
      const aside = `${file}.damaged-${new Date().toISOString().replace(/[-:.]/g, '')}`;
      await this.#changing(file, fs.rename(file, aside));
      await this.#changing(file, writeJsonFileAtomic(file, {}, { secret: true, exclusive: true }));
      return aside;
    });
  }

  /** Creates an empty blaze config unless one exists (credentials kept from an earlier registration stay). */
  async ensureBlazeConfig(handle: Handle): Promise<void> {
    const file = this.profilePaths(handle).blazeConfig;
    try {
      await this.#changing(file, writeJsonFileAtomic(file, {}, { secret: true, exclusive: true }));
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
  }

  /** What a deleted profile left behind under this handle (its MIS / Blaze settings, Chrome profile,
   *  downloads, session file), as paths relative to the config dir: whoever registers the handle again would
   *  inherit them. */
  async keptFiles(handle: Handle): Promise<string[]> {
    const p = this.profilePaths(handle);
    const found = await Promise.all([p.blazeConfig, p.chromeDir, p.downloads, p.session].map((file) => fs.stat(file).then(() => file, () => null)));
    return found.filter((file): file is string => file !== null).map((file) => this.relative(file));
  }

  async ensureProfileDirs(handle: Handle): Promise<void> {
    const p = this.profilePaths(handle);
    await Promise.all([ensureDir(p.chromeDir, true), ensureDir(p.downloads, true)]);
  }

  async readLastProfile(): Promise<Handle | null> {
    const read = await this.#readLogged(this.paths.lastProfile);
    if (read.status !== 'ok') return null;
    const value = (read.value as { last_profile?: unknown } | null)?.last_profile;
    const handle = parseHandle(value);
    if (value != null && handle === null) {
      this.#log.warn({ file: this.relative(this.paths.lastProfile) }, 'last_profile.json names an invalid handle; ignored');
    }
    return handle;
  }

  writeLastProfile(handle: Handle): Promise<void> {
    const file = this.paths.lastProfile;
    return this.#locks.run(file, () => this.#changing(file, writeJsonFileAtomic(file, { last_profile: handle })));
  }

  /** The guide's auto-selection for a worker run alone (`chooseCurrent`), remembering a first-valid choice in
   *  last_profile.json. An unusable BLAZE_PROFILE is logged, then the next rule applies. */
  async selectCurrent(envProfile: string | undefined): Promise<CurrentProfile> {
    const [valid, last] = await Promise.all([this.validHandles(), this.readLastProfile()]);
    let pinned: Handle | null = null;
    if (envProfile !== undefined && envProfile.trim() !== '') {
      pinned = parseHandle(envProfile);
      if (!pinned || !valid.includes(pinned)) {
        this.#log.warn(
          { BLAZE_PROFILE: envProfile },
          pinned ? 'BLAZE_PROFILE names a profile that is not valid (token or credentials file missing); ignored' : 'BLAZE_PROFILE is not a valid handle; ignored',
        );
      }
    }
    const chosen = chooseCurrent(valid, { pinned, last });
    // Remember the choice, but never over a corrupt file a person should look at first.
    if (chosen.source === 'first_valid' && (await readJsonFile(this.paths.lastProfile)).status === 'missing') {
      await this.writeLastProfile(chosen.handle!).catch((error) => this.#log.warn({ err: error }, 'could not write last_profile.json'));
    }
    return chosen;
  }

  /** A change this process makes is forgotten at once, whether or not it succeeded: the folder's own event
   *  may come a turn of the event loop later. */
  async #changing<T>(file: string, change: Promise<T>): Promise<T> {
    try {
      return await change;
    } finally {
      this.#views?.forget(file);
    }
  }

  #exists(file: string): Promise<boolean> {
    return this.view(file, 'exists', () => exists(file));
  }

  async #readLogged(file: string): Promise<JsonRead> {
    const read = await readJsonFile(file);
    if (read.status === 'corrupt') {
      this.#log.error({ file: this.relative(file), reason: read.reason }, 'corrupt file treated as absent (kept as it is)');
    }
    return read;
  }

  async #handlesIn(dir: string, prefix: 'token_' | 'credentials_'): Promise<Set<Handle>> {
    const names = await (this.#views ? this.#views.listing(dir) : listNames(dir));
    const handles = new Set<Handle>();
    for (const name of names) {
      const raw = handleFromFileName(name, prefix);
      if (raw !== null && parseHandle(raw) === raw) handles.add(raw);
    }
    return handles;
  }
}

export class CorruptFileError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file} is ${reason}; fix or remove it first (it was left untouched)`);
    this.file = file;
  }
}

async function fingerprint(file: string): Promise<string> {
  try {
    const stat = await fs.stat(file, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
  } catch (error) {
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
