'use strict';
// The sign-in page: POST /auth/login, then on to where the person was going (a path on this site only).

const { api, run } = window.tat;
const form = document.getElementById('login-form');

/** `next` from the address, when it is a path on this site (never another site: no open redirect). */
function next() {
  const value = new URLSearchParams(location.search).get('next') ?? '/';
  return value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : '/';
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  run(document.getElementById('login-button'), document.getElementById('login-error'), async () => {
    await api('POST', '/auth/login', { username: form.username.value.trim(), password: form.password.value });
    location.assign(next());
  });
});
