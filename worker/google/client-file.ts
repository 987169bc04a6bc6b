import { z } from 'zod';
import { readJsonFile } from '../../shared/files/json-file.ts';

const ClientSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  auth_uri: z.url().default('https://accounts.google.com/o/oauth2/auth'),
  token_uri: z.url().default('https://oauth2.googleapis.com/token'),
  redirect_uris: z.array(z.string()).optional(),
});

export type OAuthClientConfig = z.infer<typeof ClientSchema> & { kind: 'installed' | 'web' };

export type ClientFileRead =
  | { status: 'ok'; client: OAuthClientConfig }
  | { status: 'missing' }
  | { status: 'invalid'; reason: string };

/** The OAuth client JSON that Google Cloud Console downloads: top-level `installed` (Desktop App) or `web`. */
export async function readClientFile(file: string): Promise<ClientFileRead> {
  const read = await readJsonFile<Record<string, unknown>>(file);
  if (read.status === 'missing') return { status: 'missing' };
  if (read.status === 'corrupt') return { status: 'invalid', reason: read.reason };
  const value = read.value ?? {};
  const kind = 'installed' in value ? 'installed' : 'web' in value ? 'web' : null;
  if (!kind) return { status: 'invalid', reason: 'it has neither an "installed" nor a "web" section' };
  const parsed = ClientSchema.safeParse(value[kind]);
  if (!parsed.success) {
    return { status: 'invalid', reason: parsed.error.issues.map((i) => `${kind}.${i.path.join('.')}: ${i.message}`).join('; ') };
  }
  return { status: 'ok', client: { ...parsed.data, kind } };
}
