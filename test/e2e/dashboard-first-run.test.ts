// The dashboard in first-run mode: an empty config dir shows the registration card; a
// handle without its Google credentials file is refused with the expected path next to the form; once the
// file is there, registering from this page starts the profile's worker, which the dashboard then lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor } from '../helpers/supervisor.ts';
import { isVisible, launchBrowser, textOf, waitForText } from '../helpers/e2e.ts';

test('first run: register card, credentials_not_found with its path, then a registered profile turns ready', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const sup = await startSupervisor({ env: { STOP_TIMEOUT_MS: '3000' } }); // empty config dir
  t.after(() => sup.cleanup());

  const page = await chrome.newPage();
  await page.goto(`${sup.url}/`);
  await page.waitForSelector('#first-run:not([hidden])');
  assert.ok(await isVisible(page, '#register-form'), 'the first-run registration form is visible');
  assert.ok(await isVisible(page, '#register-button'));
  await waitForText(page, '#summary', 'first run');

  // A handle whose credentials file is missing: the API's message and the expected path, next to the form.
  const expected = 'google_creds/credentials_nick.tat.json';
  const direct = await sup.post('/api/profile/register', { handle: 'nick.tat' });
  assert.equal(direct.status, 404, direct.text);
  assert.equal(direct.body.error, 'credentials_not_found');
  await page.type('#register-handle', 'nick.tat');
  await page.click('#register-button');
  const shown = await waitForText(page, '#register-error', direct.body.message);
  // Named where it really goes: this config dir is not the project's config/, so the full path.
  const file = sup.config.file(expected);
  assert.equal(direct.body.file, file);
  assert.ok(shown.includes(file), `the error names the expected file: ${shown}`);
  assert.ok(await isVisible(page, '#register-error'), 'the error is visible');
  assert.equal(
    await page.$eval('#register-error', (node) => (node as any).previousElementSibling?.id),
    'register-form',
    'the error sits right under the register form',
  );
  assert.equal(await textOf(page, '#expected-path'), file, 'the instructions name the exact file to create');
  assert.equal(await textOf(page, '#register-ok'), '');
  assert.equal(await page.$eval('#register-button', (b) => (b as any).disabled), false, 'the button is usable again after the error');

  // With the file in place, registering from the same page succeeds.
  await sup.config.addCredentials('nick.tat');
  await page.click('#register-button');
  await waitForText(page, '#register-ok', 'Registered "nick.tat"');
  assert.equal(await textOf(page, '#register-error'), '', 'the old error is cleared');
  assert.ok(await sup.config.exists('tokens/token_nick.tat.json'));

  // The new profile's worker appears on the dashboard and becomes ready; first-run mode is over.
  await page.waitForSelector('#workers tr[data-handle="nick.tat"]', { timeout: 5000 });
  await page.waitForSelector('#workers tr[data-handle="nick.tat"][data-state="ready"]', { timeout: 15_000 });
  assert.equal(await textOf(page, '#workers tr[data-handle="nick.tat"] [data-testid="state"]'), 'ready');
  const pid = await textOf(page, '#workers tr[data-handle="nick.tat"] td[data-label="PID"]');
  assert.match(pid, /^\d+$/, 'the row shows the worker pid');
  assert.equal(Number(pid), (await sup.worker('nick.tat'))?.pid);
  await page.waitForSelector('#first-run[hidden]', { timeout: 5000 });
  await waitForText(page, '#summary', 'current: nick.tat');
  assert.ok(await page.$('#workers tr[data-handle="nick.tat"] .current'), 'the registered profile is the current one (★)');
  assert.ok(await page.$('#workers tr[data-handle="nick.tat"] a[href="/p/nick.tat/"]'), 'the row links to its settings page');
  assert.deepEqual(chrome.pageErrors, []);
});
