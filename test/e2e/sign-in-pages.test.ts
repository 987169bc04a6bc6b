// The pages of sign-in, in Chromium: the sign-in page (an error beside the form, then on to where the person
// was going), the menu with who is signed in and "Sign out", a dashboard that lists only the person's
// profiles, and the admin page: add and remove a person, reset a password, grant and revoke a profile, make
// and revoke an API token, errors beside the control that caused them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { UserStore } from '../../shared/access/users.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { launchBrowser, textOf, waitForText } from '../helpers/e2e.ts';
import { startSupervisor } from '../helpers/supervisor.ts';

const clickNow = (page: Page, selector: string) => page.$eval(selector, (button) => (button as any).click());

async function signIn(page: Page, name: string, password: string) {
  await page.waitForSelector('#login-form');
  await page.$eval('#username', (i) => ((i as any).value = ''));
  await page.type('#username', name);
  await page.$eval('#password', (i) => ((i as any).value = ''));
  await page.type('#password', password);
  await page.click('#login-button');
}

test('sign in, the menu, a dashboard of one\'s own profiles, sign out; the admin page', { timeout: 120_000 }, async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const config = await makeConfigDir({ profiles: ['lisa.tat', 'bob.tat'] });
  t.after(() => config.remove());
  const users = new UserStore(config.file('users.json'));
  await users.add('lisa', { password: 'lisa-Pass-1234', profiles: ['lisa.tat'] });
  await users.add('root', { password: 'root-Pass-9012', admin: true });
  const sup = await startSupervisor({ config, env: { AUTH: 'local', SUPERVISOR_TOKEN: 'e2e-admin-token' }, waitReady: ['lisa.tat', 'bob.tat'] });
  t.after(() => sup.cleanup());

  const page = await chrome.newPage();
  await page.goto(`${sup.url}/`);
  assert.equal(new URL(page.url()).pathname, '/login', 'a page needs a sign-in first');
  await signIn(page, 'lisa', 'wrong password');
  await waitForText(page, '#login-error', 'the user name or the password is wrong');
  await signIn(page, 'lisa', 'lisa-Pass-1234');
  await page.waitForSelector('#workers tr[data-handle="lisa.tat"]');
  assert.equal(new URL(page.url()).pathname, '/', 'back where the person was going');
  await waitForText(page, '[data-testid="signed-in-as"]', 'lisa');
  const rows = await page.$$eval('#workers tbody tr', (trs) => trs.map((tr) => (tr as any).dataset.handle));
  assert.deepEqual(rows, ['lisa.tat'], 'only her profiles');
  assert.equal(await page.$('a[href="/admin"]'), null, 'no admin link for her');

  // Her profile's page has the menu too.
  await page.goto(`${sup.url}/p/lisa.tat/`);
  await waitForText(page, '[data-testid="signed-in-as"]', 'lisa');
  await page.click('[data-action="sign-out"]');
  await page.waitForFunction(() => (globalThis as any).location.pathname === '/login');
  assert.equal((await sup.get('/p/lisa.tat/api/profile/current')).status, 401);

  // The admin.
  await page.goto(`${sup.url}/login?next=/admin`);
  await signIn(page, 'root', 'root-Pass-9012');
  await page.waitForSelector('#users tr[data-user="lisa"]');
  const add = async (name: string, password: string, profiles: string) => {
    await page.type('#add-name', name);
    await page.type('#add-password', password);
    await page.type('#add-profiles', profiles);
    await page.click('#add-button');
  };
  await add('carol', 'short', 'bob.tat');
  await waitForText(page, '#add-error', 'at least 8 characters');
  await page.$eval('#add-form', (f) => (f as any).reset());
  await add('carol', 'carol-Pass-555', 'bob.tat');
  await page.waitForSelector('#users tr[data-user="carol"] [data-profile="bob.tat"]');
  const carol = '#users tr[data-user="carol"]';

  await page.type(`${carol} input[data-field="grant"]`, 'lisa.tat');
  await clickNow(page, `${carol} button[data-action="grant"]`);
  await page.waitForSelector(`${carol} [data-profile="lisa.tat"]`);
  await clickNow(page, `${carol} [data-profile="bob.tat"] button[data-action="revoke"]`);
  await page.waitForFunction((sel: string) => !(globalThis as any).document.querySelector(sel), {}, `${carol} [data-profile="bob.tat"]`);

  await page.type(`${carol} input[data-field="label"]`, 'nightly export');
  await clickNow(page, `${carol} button[data-action="new-token"]`);
  await page.waitForSelector('#new-token:not([hidden])');
  const token = await textOf(page, '#new-token-value');
  assert.match(token, /^tat_/);
  await page.waitForSelector(`${carol} [data-token]`);
  assert.equal((await sup.get('/auth/me', { authorization: `Bearer ${token}` })).body.username, 'carol');
  await clickNow(page, `${carol} [data-token] button[data-action="revoke-token"]`);
  await page.waitForFunction((sel: string) => !(globalThis as any).document.querySelector(sel), {}, `${carol} [data-token]`);

  await page.type(`${carol} input[data-field="password"]`, 'short');
  await clickNow(page, `${carol} button[data-action="reset-password"]`);
  await waitForText(page, `${carol} .error`, 'at least 8 characters');
  assert.equal(await textOf(page, '#users tr[data-user="lisa"] .error'), '', 'the error is in carol\'s row only');
  await page.$eval(`${carol} input[data-field="password"]`, (i) => ((i as any).value = ''));
  await page.type(`${carol} input[data-field="password"]`, 'carol-New-Pass-7');
  await clickNow(page, `${carol} button[data-action="reset-password"]`);
  await waitForText(page, '#users-ok', 'password of carol changed');
  assert.equal((await sup.post('/auth/login', { username: 'carol', password: 'carol-New-Pass-7' })).status, 200);

  await clickNow(page, `${carol} button[data-action="remove"]`);
  await page.waitForFunction((sel: string) => !(globalThis as any).document.querySelector(sel), {}, carol);
  assert.equal((await sup.post('/auth/login', { username: 'carol', password: 'carol-New-Pass-7' })).status, 401);
  assert.deepEqual(chrome.pageErrors, []);
});
