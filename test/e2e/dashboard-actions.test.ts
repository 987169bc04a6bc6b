// The dashboard's rows and actions: "Make current" moves the ★, Restart
// shows the recycle and ends with a new pid, an errored worker shows its reason, and a row's busy button
// stays disabled and its error stays visible across the dashboard's periodic re-render; a row whose uptime and
// memory alone moved is not rebuilt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { lastPort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/processes.ts';
import { freeze, startSupervisor } from '../helpers/supervisor.ts';
import { isVisible, launchBrowser, textOf, waitForText } from '../helpers/e2e.ts';

const row = (h: string) => `#workers tr[data-handle="${h}"]`;

test('dashboard: make current, restart through recycling, errored reason, busy rows', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;

  // "broken.port" is pinned (ports.json) to the last port there is, and another program holds it: its worker
  // cannot start, and there is no port above it to move to.
  const config = await makeConfigDir({ profiles: ['alpha', 'beta', 'broken.port'] });
  t.after(() => config.remove());
  const heldPort = await lastPort(t, { hold: true });
  await config.writeJson('ports.json', { 'broken.port': heldPort });

  const token = 'e2e-supervisor-token-51';
  const sup = await startSupervisor({ config, env: { STOP_TIMEOUT_MS: '3000', MAX_RESTARTS: '2', SUPERVISOR_TOKEN: token }, waitReady: ['alpha', 'beta'] });
  t.after(() => sup.cleanup());

  const page = await chrome.newPage();
  await page.goto(`${sup.url}/`);
  await page.waitForSelector(`${row('alpha')}[data-state="ready"]`);
  await page.waitForSelector(`${row('beta')}[data-state="ready"]`);
  assert.ok(await page.$(`${row('alpha')} .current`), 'alpha (first in sorted order) is current');

  await t.test('a row action\'s API error shows as its message in that row and stays', async () => {
    // SUPERVISOR_TOKEN is set and this tab has none yet: the API refuses with 401 and a message.
    const direct = await sup.post('/supervisor/api/current', { handle: 'beta' });
    assert.equal(direct.status, 401, direct.text);
    await page.click(`${row('beta')} button[data-action="make-current"]`);
    const shown = await waitForText(page, `${row('beta')} .actions .error`, direct.body.message);
    assert.ok(await isVisible(page, `${row('beta')} .actions .error`), shown);
    assert.equal(await textOf(page, `${row('alpha')} .actions .error`), '', 'only in the row whose button caused it');
    assert.ok(await isVisible(page, '#token-card'), 'the token form appears');
    // The dashboard rebuilds a row when it changes (here: a restart of beta from elsewhere): the message
    // must survive that.
    await page.$eval(row('beta'), (tr) => ((tr as any).__old = true));
    assert.equal((await sup.post('/supervisor/api/workers/beta/restart', undefined, { authorization: `Bearer ${token}` })).status, 200);
    await page.waitForFunction((sel: string) => !(globalThis as any).document.querySelector(sel).__old, { polling: 50, timeout: 5000 }, row('beta'));
    assert.equal(await textOf(page, `${row('beta')} .actions .error`), shown, 'the message is still there after a refresh');
    assert.ok(await page.$(`${row('alpha')} .current`), 'nothing changed');
    await page.waitForSelector(`${row('beta')}[data-state="ready"]`, { timeout: 15_000 });

    await page.type('#token', token);
    await page.click('#token-form button[type="submit"]');
    await page.waitForSelector('#token-card[hidden]');
  });

  await t.test('an errored worker is shown with its reason', async () => {
    await page.waitForSelector(`${row('broken.port')}[data-state="errored"]`, { timeout: 15_000 });
    assert.equal(await textOf(page, `${row('broken.port')} [data-testid="state"]`), 'errored');
    const problem = '#workers tr[data-problem-for="broken.port"]';
    const reason = `${problem} .error`;
    assert.ok(await isVisible(page, reason), 'the reason is visible under the row');
    const text = await waitForText(page, reason, 'port conflict');
    assert.ok(text.includes(String(heldPort)), `the reason names the port: ${text}`);
    assert.match(text, /in use by another program/);
    // the worker's last log lines are shown with it, readable, and a link to all of them
    await page.waitForSelector(`${problem} ol.log-lines li`, { timeout: 5000 });
    assert.ok(await isVisible(page, `${problem} ol.log-lines`));
    const lines = await textOf(page, `${problem} ol.log-lines`);
    assert.match(lines, /already in use/);
    assert.doesNotMatch(lines, /[{}]"/, 'no JSON in the lines');
    assert.ok(await page.$(`${problem} a[href="/logs?handle=broken.port"]`));
    assert.equal(await textOf(page, `${row('broken.port')} td[data-label="PID"]`), '', 'no pid: nothing runs');
    assert.equal(await textOf(page, `${row('broken.port')} td[data-label="Direct URL"]`), '', 'no link to the port another program holds');
    // the others are untouched
    assert.equal(await page.$eval(row('alpha'), (n) => (n as any).dataset.state), 'ready');
  });

  await t.test('"Make current" on the dashboard moves the ★', async () => {
    await page.click(`${row('beta')} button[data-action="make-current"]`);
    await page.waitForSelector(`${row('beta')} .current`, { timeout: 5000 });
    await page.waitForFunction((sel: string) => !(globalThis as any).document.querySelector(sel), { polling: 50, timeout: 3000 }, `${row('alpha')} .current`);
    await waitForText(page, '#summary', 'current: beta');
    assert.equal((await sup.get('/api/profile/current')).body.handle, 'beta');
    assert.equal((await config.readJson('last_profile.json')).last_profile, 'beta');
    await page.waitForSelector(`${row('beta')}[data-state="ready"]`, { timeout: 15_000 });
  });

  await t.test('Restart: recycling, then ready with a new pid; the button stays busy meanwhile', async () => {
    await page.waitForSelector(`${row('alpha')}[data-state="ready"]`);
    const before = (await sup.worker('alpha'))!;
    assert.equal(Number(await textOf(page, `${row('alpha')} td[data-label="PID"]`)), before.pid);
    // Frozen, the worker cannot finish its graceful stop, so the drain is visible instead of a blink.
    const thaw = freeze(before.pid!);
    try {
      await page.click(`${row('alpha')} button[data-action="restart"]`);
      await page.waitForFunction(
        (sel: string) => {
          const state = (globalThis as any).document.querySelector(sel)?.dataset.state;
          return state === 'recycling' || state === 'starting';
        },
        { polling: 20, timeout: 4000 },
        row('alpha'),
      );
      // the row was re-rendered since the click: its Restart button must still show the action running
      const button = await page.$eval(`${row('alpha')} button[data-action="restart"]`, (b) => ({ disabled: (b as any).disabled, busy: (b as any).getAttribute('aria-busy') }));
      assert.deepEqual(button, { disabled: true, busy: 'true' }, 'Restart stays disabled while the restart runs');
      assert.match(await textOf(page, `${row('alpha')} [data-testid="state"]`), /^(recycling|starting)$/);
    } finally {
      thaw();
    }
    await page.waitForFunction(
      (sel: string, oldPid: number) => {
        const tr = (globalThis as any).document.querySelector(sel);
        const pid = Number(tr?.querySelector('td[data-label="PID"]')?.textContent);
        return tr?.dataset.state === 'ready' && pid > 0 && pid !== oldPid;
      },
      { polling: 50, timeout: 10_000 },
      row('alpha'),
      before.pid!,
    );
    const after = (await sup.worker('alpha'))!;
    assert.notEqual(after.pid, before.pid);
    assert.equal(Number(await textOf(page, `${row('alpha')} td[data-label="PID"]`)), after.pid);
    await page.waitForFunction((sel: string) => !(globalThis as any).document.querySelector(sel).disabled, { polling: 50, timeout: 3000 }, `${row('alpha')} button[data-action="restart"]`);
    assert.equal(await textOf(page, `${row('alpha')} .actions .error`), '');
  });

  await t.test('a row whose uptime and memory alone moved is kept: a button is never replaced under a click', async () => {
    await page.waitForSelector(`${row('beta')}[data-state="ready"]`);
    const button = `${row('beta')} button[data-action="restart"]`;
    await page.$eval(button, (b) => ((b as any).__kept = true));
    const memory = () => textOf(page, `${row('beta')} td[data-label="Memory"]`);
    const before = await memory();
    assert.match(before, /^\d+ (MB|kB)$/);
    // Traffic moves beta's memory; each restart of alpha has the supervisor send every row again.
    await waitFor(
      "beta's memory to show another figure",
      async () => {
        await Promise.all(Array.from({ length: 200 }, () => sup.get('/p/beta/api/profiles')));
        assert.equal((await sup.post('/supervisor/api/workers/alpha/restart', undefined, { authorization: `Bearer ${token}` })).status, 200);
        await page.waitForSelector(`${row('alpha')}[data-state="ready"]`, { timeout: 15_000 });
        return (await memory()) !== before;
      },
      60_000,
    );
    assert.ok(await page.$eval(button, (b) => (b as any).__kept === true), "beta's row, and its button, are the elements shown before");
    assert.match(await textOf(page, `${row('beta')} td[data-label="Up"]`), /^\d+(s|m)/, 'the uptime is shown');
  });

  assert.deepEqual(chrome.pageErrors, []);
});
