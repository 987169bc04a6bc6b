// The sign-in page: POST /auth/login, then on to where the person was going (a page on this site only).
import { api, byId, run } from './client.js';
import { safeNext } from './safe-next.js';

const form = byId('login-form');

form.addEventListener('submit', (/** @type {SubmitEvent} */ event) => {
  event.preventDefault();
  run(byId('login-button'), byId('login-error'), async () => {
    await api('POST', '/auth/login', { username: form.username.value.trim(), password: form.password.value });
    location.assign(safeNext(new URLSearchParams(location.search).get('next'), location.origin));
  });
});
