// The register form, on the dashboard and on a profile's page: a handle, the file its credentials must be
// in (as the server names it: under the config dir it really uses), and Register.
import { api, byId, run } from './client.js';

/** A handle as the server takes it: trimmed, lower case. @param {string} value */
export function handleOf(value) {
  return value.trim().toLowerCase();
}

/**
 * Binds the form (#register-form, #register-handle, #register-button, #register-error, #register-ok,
 * #expected-path). `apiBase`: where the profile API is from this page (`/api/` or `api/`).
 * @param {{ apiBase: string, onRegistered(result: any): Promise<string | void> }} options
 */
export function registerForm({ apiBase, onRegistered }) {
  const input = byId('register-handle');
  const expected = byId('expected-path');
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pending;
  input.addEventListener('input', () => {
    clearTimeout(pending);
    const handle = handleOf(input.value);
    if (!handle) return;
    // Where the server expects the file, once the person stops typing.
    pending = setTimeout(async () => {
      const where = await api('GET', `${apiBase}profile/check-credentials/${encodeURIComponent(handle)}`).catch(() => null);
      if (where && handleOf(input.value) === handle) expected.textContent = where.file;
    }, 250);
  });
  byId('register-form').addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const handle = handleOf(input.value);
    run(byId('register-button'), byId('register-error'), async () => {
      try {
        const result = await api('POST', `${apiBase}profile/register`, { handle });
        input.value = '';
        return (await onRegistered(result)) ?? result.message;
      } catch (error) {
        const data = /** @type {{ code?: string, data?: { file?: string } }} */ (error).data;
        if (/** @type {{ code?: string }} */ (error).code === 'credentials_not_found' && data?.file) {
          expected.textContent = data.file;
          throw new Error(`${/** @type {Error} */ (error).message}\nPut the file at: ${data.file}`);
        }
        throw error;
      }
    }, byId('register-ok'));
  });
}
