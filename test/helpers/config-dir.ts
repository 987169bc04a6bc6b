import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configRuntimeDir } from '../../supervisor/workers/runtime-dir.ts';

export const TEST_CLIENT_SECRET = 'test-client-secret-Zq7';

/** A Google OAuth client file as Cloud Console downloads it ("Desktop App" → `installed`). */
export function clientFile(handle: string, overrides: Record<string, unknown> = {}) {
  return {
    installed: {
      client_id: `${handle}.apps.googleusercontent.com`,
      project_id: 'tat-mis-test',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
      client_secret: TEST_CLIENT_SECRET,
      redirect_uris: ['http://localhost'],
      ...overrides,
    },
  };
}

export interface TestConfigDir {
  dir: string;
  file(...parts: string[]): string;
  /** Adds `google_creds/credentials_<h>.json`. */
  addCredentials(handle: string, overrides?: Record<string, unknown>): Promise<void>;
  /** Adds credentials and a placeholder token: a valid, not yet authenticated profile. */
  addProfile(handle: string): Promise<void>;
  writeJson(relative: string, value: unknown): Promise<void>;
  readJson<T = any>(relative: string): Promise<T>;
  exists(relative: string): Promise<boolean>;
  /** Every file under the dir with its bytes, to prove a request changed nothing. */
  snapshot(): Promise<Map<string, string>>;
  remove(): Promise<void>;
}

export async function makeConfigDir(options: { profiles?: string[]; settings?: Record<string, unknown> } = {}): Promise<TestConfigDir> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tat-test-'));
  const file = (...parts: string[]) => path.join(dir, ...parts);
  const writeJson = async (relative: string, value: unknown) => {
    await fs.mkdir(path.dirname(file(relative)), { recursive: true });
    await fs.writeFile(file(relative), JSON.stringify(value, null, 2));
  };
  const addCredentials = (handle: string, overrides?: Record<string, unknown>) =>
    writeJson(`google_creds/credentials_${handle}.json`, clientFile(handle, overrides));
  const config: TestConfigDir = {
    dir,
    file,
    addCredentials,
    async addProfile(handle) {
      await addCredentials(handle);
      await writeJson(`tokens/token_${handle}.json`, { placeholder: true, handle });
    },
    writeJson,
    async readJson(relative) {
      return JSON.parse(await fs.readFile(file(relative), 'utf8'));
    },
    async exists(relative) {
      return fs.access(file(relative)).then(() => true, () => false);
    },
    async snapshot() {
      const out = new Map<string, string>();
      const walk = async (d: string): Promise<void> => {
        for (const entry of await fs.readdir(d, { withFileTypes: true })) {
          const full = path.join(d, entry.name);
          const rel = path.relative(dir, full);
          if (entry.isDirectory()) {
            out.set(`${rel}/`, 'dir');
            await walk(full);
          } else out.set(rel, (await fs.readFile(full)).toString('base64'));
        }
      };
      await walk(dir);
      return out;
    },
    async remove() {
      // A supervisor killed by a test leaves its workers' socket folder behind; a clean stop removes it.
      await fs.rm(configRuntimeDir(dir), { recursive: true, force: true });
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  for (const handle of options.profiles ?? []) await config.addProfile(handle);
  if (options.settings) await writeJson('settings.json', options.settings);
  return config;
}
