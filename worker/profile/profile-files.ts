import type { Handle } from '../../shared/profiles/handle.ts';
import { shownPath } from '../../shared/profiles/paths.ts';
import type { ProfileStore } from '../../shared/profiles/profile-store.ts';
import { readClientFile } from '../google/client-file.ts';

/** One of the profile's files as its page shows it: where it is, whether it can be read, and the fix. */
export interface FileState {
  file: string;
  state: 'ok' | 'missing' | 'damaged';
  reason: string | null;
  fix: string | null;
}

export interface ProfileFiles {
  credentials: FileState;
  token: FileState;
  blaze_config: FileState;
}

/** The state of the profile's three files. A damaged file is never overwritten by a form: the page shows it
 *  with its fix and keeps the form that would replace it disabled. */
export async function profileFiles(store: ProfileStore, handle: Handle, apiBase: string): Promise<ProfileFiles> {
  const paths = store.profilePaths(handle);
  const shown = (file: string) => shownPath(store.paths.configDir, file);
  const [client, token, blaze] = await Promise.all([
    store.view(paths.credentials, 'client', () => readClientFile(paths.credentials)),
    store.readToken(handle),
    store.readBlazeConfigFile(handle),
  ]);
  const credentialsFile = shown(paths.credentials);
  const blazeFile = shown(paths.blazeConfig);
  return {
    credentials:
      client.status === 'ok'
        ? ok(credentialsFile)
        : client.status === 'missing'
          ? { file: credentialsFile, state: 'missing', reason: null, fix: `download the OAuth client JSON from Google Cloud Console and save it as ${credentialsFile}` }
          : { file: credentialsFile, state: 'damaged', reason: client.reason, fix: `download the OAuth client JSON from Google Cloud Console again and save it over ${credentialsFile}` },
    token:
      token.kind === 'token' || token.kind === 'placeholder'
        ? ok(shown(paths.token))
        : token.kind === 'missing'
          ? { file: shown(paths.token), state: 'missing', reason: null, fix: `register the profile (POST /api/profile/register)` }
          : { file: shown(paths.token), state: 'damaged', reason: token.reason, fix: `connect Google again ("Connect Google", or POST ${apiBase}/auth/google): it writes a new token file` },
    blaze_config:
      blaze.status === 'ok'
        ? ok(blazeFile)
        : blaze.status === 'missing'
          ? { file: blazeFile, state: 'missing', reason: null, fix: null }
          : {
              file: blazeFile,
              state: 'damaged',
              reason: blaze.reason,
              fix: `repair ${blazeFile} by hand, or replace it with an empty one ("Replace the damaged file", or POST ${apiBase}/blaze-config/replace-damaged): the damaged one is kept next to it`,
            },
  };
}

function ok(file: string): FileState {
  return { file, state: 'ok', reason: null, fix: null };
}
