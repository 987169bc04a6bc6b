// The sign-in page: POST /auth/login, then on to where the person was going (a page on this site only).
import { safeNext } from '/assets/safe-next.js';

const { api, run } = window.tat;
const form = document.getElementById('login-form');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  run(document.getElementById('login-button'), document.getElementById('login-error'), async () => {
    await api('POST', '/auth/login', { username: form.username.value.trim(), password: form.password.value });
    location.assign(safeNext(new URLSearchParams(location.search).get('next'), location.origin));
  });
});
