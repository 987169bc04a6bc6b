// The buttons of the pages the servers write for a person (a stopped or errored worker, a profile not yet
// registered): each POSTs its JSON, shows how long it has run and the most it can take, then reloads — after
// waiting, for a start or a register, until the profile's worker is ready.

import { api, byId } from './client.js';

const progress = byId('landing-progress');
const errorEl = byId('landing-error');

/** @param {string} handle @param {number} deadline */
async function workerReady(handle, deadline) {
  while (Date.now() < deadline) {
    try {
      const { worker } = await api('GET', `/supervisor/api/workers/${encodeURIComponent(handle)}`);
      if (worker && worker.state === 'ready') return true;
      if (worker && worker.state === 'errored') throw new Error('its worker could not start: see its last log lines on the dashboard');
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('button[data-post]'))) {
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    const buttons = [.../** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('button[data-post]'))];
    for (const b of buttons) b.disabled = true;
    errorEl.textContent = '';
    const started = Date.now();
    const limit = Number(button.dataset.limitMs) || 30_000;
    const label = button.dataset.busy || button.textContent;
    const tick = () => {
      progress.textContent = `${label}… ${Math.round((Date.now() - started) / 1000)} s (at most ${Math.round(limit / 1000)} s)`;
    };
    tick();
    const timer = setInterval(tick, 500);
    try {
      await api('POST', button.dataset.post ?? '', button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
      if (button.dataset.waitFor && !(await workerReady(button.dataset.waitFor, started + limit))) {
        throw new Error(`not ready after ${Math.round(limit / 1000)} s: see the dashboard`);
      }
      location.reload();
    } catch (error) {
      errorEl.textContent = /** @type {Error} */ (error).message;
      for (const b of buttons) b.disabled = false;
    } finally {
      clearInterval(timer);
      progress.textContent = '';
    }
  });
}
