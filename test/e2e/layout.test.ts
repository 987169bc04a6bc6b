// Usable at 1280×800 and on a phone, 390×844: no page scrolls sideways, and the main
// buttons are on screen, uncovered and clickable: the dashboard in first-run mode and with several profiles
// (one errored, with its log lines), a settings page with a wide MIS CSV loaded, the logs page, sign-in and admin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSupervisor } from '../helpers/supervisor.ts';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { UserStore } from '../../shared/access/users.ts';
import { assertUsable, launchBrowser, startDemoSupervisor, VIEWPORTS, waitForText } from '../helpers/e2e.ts';

test('first-run dashboard fits a desktop and a phone', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const sup = await startSupervisor({ env: { STOP_TIMEOUT_MS: '3000' } });
  t.after(() => sup.cleanup());
  for (const viewport of VIEWPORTS) {
    const page = await chrome.newPage(viewport);
    await page.goto(`${sup.url}/`);
    await page.waitForSelector('#first-run:not([hidden])');
    // with the longest message the form shows
    await page.type('#register-handle', 'a-rather-long-store-handle.with.dots-and-hyphens');
    await page.click('#register-button');
    await waitForText(page, '#register-error', 'google_creds/credentials_a-rather-long-store-handle.with.dots-and-hyphens.json');
    await assertUsable(page, `first-run dashboard, ${viewport.name}`, ['#register-button']);
    await page.close();
  }
  assert.deepEqual(chrome.pageErrors, []);
});

test('dashboard and settings page with several profiles fit a desktop and a phone', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const { sup } = await startDemoSupervisor(t);
  for (const viewport of VIEWPORTS) {
    const dashboard = await chrome.newPage(viewport);
    await dashboard.goto(`${sup.url}/`);
    await dashboard.waitForSelector('#workers tr[data-handle="broken.port"][data-state="errored"] + tr[data-problem-for="broken.port"] ol.log-lines');
    await dashboard.waitForSelector('#workers tr[data-handle="store-sf"][data-state="ready"]');
    await assertUsable(dashboard, `dashboard, ${viewport.name}`, [
      '#workers button[data-action="restart"]',
      '#workers button[data-action="stop"]',
      '#workers button[data-action="make-current"]',
      '#workers button[data-action="delete"]',
      '#workers a[href^="/p/"]',
    ]);
    await dashboard.close();

    const settings = await chrome.newPage(viewport);
    await settings.goto(`${sup.url}/p/nick.tat/`);
    await waitForText(settings, '#csv-state', '14 columns');
    await settings.waitForSelector('#csv-preview table');
    await settings.waitForSelector('#profiles tr[data-handle="store-la"] button[data-action="switch"]');
    await settings.waitForFunction(() => (globalThis as any).document.getElementById('mis_password').placeholder === 'saved', { polling: 50 });
    await assertUsable(settings, `settings page, ${viewport.name}`, [
      '#register-button',
      '#google-connect',
      '#credentials-save',
      '#init-all',
      '#pull-csv',
      '#browser-close',
      '#upload-button',
      '#sheet-load',
      '#profiles button[data-action="switch"]',
      '#profiles button[data-action="delete"]',
      '#dashboard-link',
    ]);
    await settings.close();
  }
  assert.deepEqual(chrome.pageErrors, []);
});

test('the logs page, the sign-in page and the admin page fit a desktop and a phone', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const config = await makeConfigDir({ profiles: ['a-rather-long-store-handle.with.dots'] });
  t.after(() => config.remove());
  const users = new UserStore(config.file('users.json'));
  await users.add('root', { password: 'root-Pass-9012', admin: true, profiles: [] });
  const sup = await startSupervisor({ config, env: { AUTH: 'local', SUPERVISOR_TOKEN: 'e2e-layout-token' }, waitReady: ['a-rather-long-store-handle.with.dots'] });
  t.after(() => sup.cleanup());
  for (const viewport of VIEWPORTS) {
    const page = await chrome.newPage(viewport);
    await page.goto(`${sup.url}/login?next=/admin`);
    await page.waitForSelector('#login-form');
    await page.type('#username', 'root');
    await page.type('#password', 'wrong password');
    await page.click('#login-button');
    await waitForText(page, '#login-error', 'wrong');
    await assertUsable(page, `sign-in page, ${viewport.name}`, ['#login-button']);
    await page.$eval('#password', (i) => ((i as any).value = ''));
    await page.type('#password', 'root-Pass-9012');
    await page.click('#login-button');
    await page.waitForSelector('#users tr[data-user="root"]');
    await assertUsable(page, `admin page, ${viewport.name}`, ['#users tr[data-user="root"] button']);
    await page.goto(`${sup.url}/logs?handle=a-rather-long-store-handle.with.dots`);
    await waitForText(page, '#live-state', 'live');
    await assertUsable(page, `logs page, ${viewport.name}`, ['#level']);
    await page.close();
  }
  assert.deepEqual(chrome.pageErrors, []);
});
