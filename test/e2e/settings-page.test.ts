// A profile's settings page at /p/<h>/ through the supervisor: saving MIS
// credentials never brings the password back; API errors show as their message under the control that caused
// them; long actions disable their button while they run; "Make current" moves the dashboard's ★.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeze, startSupervisor } from '../helpers/supervisor.ts';
import { isVisible, launchBrowser, recordApiBodies, textOf, waitForText } from '../helpers/e2e.ts';

const PASSWORD = 'Pw-e2e-7c1f9d!x';
const USERNAME = 'nick@theartisttree.com';

test('settings page: credentials, errors next to their controls, busy buttons, make current', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const sup = await startSupervisor({ profiles: ['nick.tat', 'store-la'], env: { STOP_TIMEOUT_MS: '3000' } });
  t.after(() => sup.cleanup());
  assert.equal((await sup.worker('nick.tat'))?.is_current, true, 'first valid handle in sorted order is current');

  const page = await chrome.newPage();
  const apiBodies = recordApiBodies(page);
  await page.goto(`${sup.url}/p/nick.tat/`);
  await waitForText(page, '#title-handle', 'nick.tat');
  await page.waitForSelector('body[data-loaded]');
  // loadCredentials has filled the form (typing before that would be overwritten)
  await page.waitForFunction(() => (globalThis as any).document.getElementById('mis_password').placeholder === 'not set', { polling: 50 });
  assert.ok(await isVisible(page, '#credentials-section'));

  await t.test('saving MIS credentials: the password never comes back', async () => {
    await page.type('#mis_username', USERNAME);
    await page.type('#mis_password', PASSWORD);
    await page.click('#credentials-save');
    await waitForText(page, '#credentials-ok', 'Saved.');
    assert.equal(await textOf(page, '#credentials-error'), '');
    const field = await page.$eval('#mis_password', (n) => ({ value: (n as any).value, placeholder: (n as any).placeholder }));
    assert.deepEqual(field, { value: '', placeholder: 'saved' });
    assert.equal(await page.$eval('#mis_username', (n) => (n as any).value), USERNAME);
    const html = await page.evaluate(() => (globalThis as any).document.documentElement.outerHTML as string);
    assert.ok(!html.includes(PASSWORD), 'the password is nowhere in the DOM');
    const values = await page.$$eval('input', (nodes) => nodes.map((n) => String((n as any).value)));
    assert.ok(!values.some((v) => v.includes(PASSWORD)), 'no input holds the password');

    const creds = await sup.get('/p/nick.tat/api/get-credentials');
    assert.equal(creds.status, 200, creds.text);
    assert.equal(creds.body.mis_password_set, true);
    assert.equal(creds.body.mis_username, USERNAME);
    assert.ok(!creds.text.includes(PASSWORD));
    // only this profile got them
    assert.equal((await sup.get('/p/store-la/api/get-credentials')).body.mis_password_set, false);

    // Reload: still "saved", still not in the page; nothing the page received ever held it.
    await page.reload();
    await page.waitForFunction(() => (globalThis as any).document.getElementById('mis_password').placeholder === 'saved', { polling: 50 });
    const again = await page.evaluate(() => (globalThis as any).document.documentElement.outerHTML as string);
    assert.ok(!again.includes(PASSWORD));
    assert.ok(apiBodies.length > 3, 'API responses were recorded');
    assert.deepEqual(apiBodies.filter((b) => b.includes(PASSWORD)), [], 'no API response carries the password');

    // Saving again with the password field left empty keeps the saved password.
    await page.click('#credentials-save');
    await waitForText(page, '#credentials-ok', 'Saved.');
    assert.equal((await sup.get('/p/nick.tat/api/get-credentials')).body.mis_password_set, true);
  });

  await t.test('API errors show as their message under the control that caused them', async () => {
    // invalid handle in the register form
    const direct = await sup.post('/p/nick.tat/api/profile/register', { handle: 'bad handle' });
    assert.equal(direct.status, 400, direct.text);
    assert.equal(direct.body.error, 'invalid_handle');
    await page.type('#register-handle', 'bad handle');
    await page.click('#register-button');
    const shown = await waitForText(page, '#register-error', direct.body.message);
    assert.match(shown, /lowercase letters, digits, dots and hyphens/);
    assert.ok(await isVisible(page, '#register-error'));
    assert.equal(await page.$eval('#register-error', (n) => (n as any).previousElementSibling?.id), 'register-form', 'the message sits under the form');
    assert.equal(await textOf(page, '#profiles-error'), '', 'and nowhere else');
    assert.equal(await textOf(page, '#credentials-error'), '');

    // a handle without its credentials file: the path to create
    await page.$eval('#register-handle', (n) => ((n as any).value = ''));
    await page.type('#register-handle', 'new.store');
    await page.click('#register-button');
    const missing = await waitForText(page, '#register-error', 'not found');
    // where it really goes: this config dir is not the project's config/
    assert.ok(missing.includes(sup.config.file('google_creds/credentials_new.store.json')), missing);

    // an invalid credentials field: the validation message under the credentials form
    await page.$eval('#blaze_api_url', (n) => ((n as any).value = 'ftp://api.blaze.me'));
    await page.$eval('#credentials-form', (f) => (f as any).noValidate = true); // get past the browser's own check
    await page.click('#credentials-save');
    const invalid = await waitForText(page, '#credentials-error', 'blaze_api_url');
    assert.ok(invalid.length > 'blaze_api_url'.length, invalid);
    assert.equal(await page.$eval('#credentials-error', (n) => (n as any).previousElementSibling?.id), 'credentials-form');
    await page.$eval('#blaze_api_url', (n) => ((n as any).value = ''));

    // a session action that needs credentials first (store-la has none): message under the session buttons
    const other = await chrome.newPage();
    await other.goto(`${sup.url}/p/store-la/`);
    await waitForText(other, '#title-handle', 'store-la');
    await other.waitForSelector('body[data-loaded]');
    await other.click('#init-all');
    await waitForText(other, '#session-error', 'save the MIS username and password');
    assert.ok(await isVisible(other, '#session-error'));
    await other.close();
  });

  await t.test('a long action disables its button while it runs', async () => {
    const pid = (await sup.worker('nick.tat'))!.pid!;
    const requests: string[] = [];
    const onRequest = (r: { url(): string; method(): string }) => {
      if (r.url().endsWith('/api/save-profile-credentials')) requests.push(r.method());
    };
    page.on('request', onRequest);
    const thaw = freeze(pid); // the worker cannot answer: the save stays in flight
    try {
      await page.click('#credentials-save');
      await page.waitForFunction(
        () => {
          const b = (globalThis as any).document.getElementById('credentials-save');
          return b.disabled && b.getAttribute('aria-busy') === 'true';
        },
        { polling: 20, timeout: 2000 },
      );
      await page.click('#credentials-save').catch(() => {}); // a second press while busy does nothing
      await page.keyboard.press('Enter');
      assert.equal(await textOf(page, '#credentials-ok'), '', 'no success before the answer');
    } finally {
      thaw();
    }
    await waitForText(page, '#credentials-ok', 'Saved.');
    const after = await page.$eval('#credentials-save', (b) => ({ disabled: (b as any).disabled, busy: (b as any).getAttribute('aria-busy') }));
    assert.deepEqual(after, { disabled: false, busy: null });
    page.off('request', onRequest);
    assert.deepEqual(requests, ['POST'], 'exactly one save request was sent');
  });

  await t.test('"Make current" on the settings page moves the dashboard\'s ★', async () => {
    const dashboard = await chrome.newPage();
    await dashboard.goto(`${sup.url}/`);
    await dashboard.waitForSelector('#workers tr[data-handle="nick.tat"] .current');
    assert.equal(await dashboard.$('#workers tr[data-handle="store-la"] .current'), null);

    await page.bringToFront();
    const button = '#profiles tr[data-handle="store-la"] button[data-action="switch"]';
    await page.waitForSelector(button);
    const clicked = performance.now();
    await page.click(button);
    await waitForText(page, '#profiles-ok', 'now goes to "store-la"');
    assert.equal(await textOf(page, '#profiles-error'), '');

    await dashboard.bringToFront();
    await dashboard.waitForSelector('#workers tr[data-handle="store-la"] .current', { timeout: 5000 });
    await dashboard.waitForFunction(() => !(globalThis as any).document.querySelector('#workers tr[data-handle="nick.tat"] .current'), { polling: 50, timeout: 2000 });
    assert.ok(performance.now() - clicked < 6000, 'within a few seconds');
    assert.match(await textOf(dashboard, '#workers tr[data-handle="store-la"] td[data-label="Profile"]'), /^★/);
    await waitForText(dashboard, '#summary', 'current: store-la');
    assert.equal((await sup.get('/api/profile/current')).body.handle, 'store-la', '/api goes to the new current profile');
    // the dashboard offers "Make current" on the other row only
    assert.ok(await dashboard.$('#workers tr[data-handle="nick.tat"] button[data-action="make-current"]'));
    assert.equal(await dashboard.$('#workers tr[data-handle="store-la"] button[data-action="make-current"]'), null);
    await dashboard.close();
  });

  await t.test('the words: "this profile", the ★ where /api really goes, its own URLs in hints', async () => {
    // store-la is current now (above); nick.tat's page, loaded before, sees it when it is looked at again
    await page.bringToFront();
    await page.evaluate(() => (globalThis as any).document.dispatchEvent(new (globalThis as any).Event('visibilitychange')));
    await waitForText(page, '#api-target', 'goes to store-la');
    assert.equal(await textOf(page, '#current-handle'), 'nick.tat (this page)');
    assert.match(await textOf(page, '#profiles tr[data-handle="nick.tat"]'), /nick\.tat \(this profile\)/);
    assert.match(await textOf(page, '#profiles tr[data-handle="store-la"] td'), /^★/);
    assert.equal(await page.$('#profiles tr[data-handle="store-la"] button[data-action="switch"]'), null, 'no "Make current" for the current one');
    assert.ok(await page.$('#profiles tr[data-handle="nick.tat"] button[data-action="switch"]'));
    assert.match(await textOf(page, '#google-hint'), /POST \/p\/nick\.tat\/api\/auth\/google/);
    assert.match(await textOf(page, '#google-state'), /Not connected yet/, 'never "again" for a profile never connected');
    assert.equal(await textOf(page, '#google-connect'), 'Connect Google');
    // the API's own hints name the profile's URLs too
    const needsCredentials = await sup.post('/p/store-la/api/init-all');
    assert.equal(needsCredentials.status, 409, needsCredentials.text);
    assert.match(needsCredentials.body.message, /POST \/p\/store-la\/api\/save-profile-credentials/);
  });

  assert.deepEqual(chrome.pageErrors, []);
});
