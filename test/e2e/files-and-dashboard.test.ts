// At 1280×800 and 390×844: damaged files shown on the profile page with their name and the fix, the forms
// that would overwrite them locked until the file is replaced on purpose; the dashboard registering a
// profile while others run (not only on the first run); and the dashboard saying plainly that the
// supervisor cannot be reached instead of showing states that may be stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { makeConfigDir } from '../helpers/config-dir.ts';
import { assertUsable, isVisible, launchBrowser, textOf, VIEWPORTS, waitForText } from '../helpers/e2e.ts';
import { startSupervisor } from '../helpers/supervisor.ts';
import { waitFor } from '../helpers/processes.ts';

const BROKEN_JSON = '{"mis_username": "lisa@example.com", "mis_pass';

test('damaged files on the profile page; the dashboard registers any time and says when the supervisor is gone', async (t) => {
  const chrome = await launchBrowser(t);
  if (!chrome) return;
  const config = await makeConfigDir({ profiles: ['a', 'b'] });
  t.after(() => config.remove());
  await fs.mkdir(config.file('blaze_configs'), { recursive: true });
  await config.writeJson('last_profile.json', { last_profile: 'a' });
  const sup = await startSupervisor({ config, env: { STOP_TIMEOUT_MS: '3000' }, waitReady: ['a', 'b'] });
  t.after(() => sup.cleanup());

  for (const viewport of VIEWPORTS) {
    await t.test(`${viewport.name}: a damaged MIS / Blaze settings file is shown, its form locked, then replaced on purpose`, async () => {
      const file = config.file('blaze_configs', 'blaze_config_a.json');
      await fs.writeFile(file, BROKEN_JSON);
      const page = await chrome.newPage(viewport);
      await page.goto(`${sup.url}/p/a/`);
      await page.waitForSelector('body[data-loaded]');
      const problem = await waitForText(page, '#file-problems', 'The MIS / Blaze settings file');
      assert.ok(problem.includes(file), `names the file: ${problem}`);
      assert.match(problem, /Replace the damaged file|repair/);
      assert.equal(await page.$eval('#credentials-fields', (f: any) => f.disabled), true, 'the form that would overwrite it is locked');
      assert.equal(await page.$eval('#credentials-save', (b: any) => b.matches(':disabled')), true);
      const note = await textOf(page, '#blaze-problem');
      assert.match(note, /cannot be read/);
      await assertUsable(page, `damaged settings, ${viewport.name}`, ['#blaze-replace']);
      // the API refuses to overwrite it too
      const save = await sup.post('/p/a/api/save-profile-credentials', { mis_username: 'x@example.com' });
      assert.equal(save.status, 409, save.text);
      assert.equal(save.body.error, 'corrupt_file');
      assert.equal(await fs.readFile(file, 'utf8'), BROKEN_JSON, 'untouched');

      await page.click('#blaze-replace'); // confirm() is accepted, as a person would
      await page.waitForFunction(() => !(globalThis as any).document.getElementById('credentials-fields').disabled, { polling: 50 });
      await waitFor('the file problem to go', async () => !(await isVisible(page, '#file-problems .problem')), 5000);
      const kept = (await fs.readdir(config.file('blaze_configs'))).filter((n) => n.startsWith('blaze_config_a.json.damaged-'));
      assert.equal(kept.length, 1, 'the damaged file is kept next to it');
      assert.equal(await fs.readFile(config.file('blaze_configs', kept[0]!), 'utf8'), BROKEN_JSON);
      await fs.rm(config.file('blaze_configs', kept[0]!));
      JSON.parse(await fs.readFile(file, 'utf8'));
      await page.close();
    });

    await t.test(`${viewport.name}: a damaged Google credentials file is shown and Connect Google is off`, async () => {
      const file = config.file('google_creds', 'credentials_b.json');
      const good = await fs.readFile(file, 'utf8');
      const page = await chrome.newPage(viewport);
      try {
        await fs.writeFile(file, '{"installed": {"client_id": ');
        await page.goto(`${sup.url}/p/b/`);
        await page.waitForSelector('body[data-loaded]');
        const problem = await waitForText(page, '#file-problems', 'The Google credentials file');
        assert.ok(problem.includes(file), problem);
        assert.match(problem, /download the OAuth client JSON from Google Cloud Console again/);
        assert.equal(await page.$eval('#google-connect', (b: any) => b.disabled), true);
        const files = await sup.get('/p/b/api/profile/files');
        assert.equal(files.body.credentials.state, 'damaged');
        await assertUsable(page, `damaged credentials, ${viewport.name}`);
      } finally {
        await fs.writeFile(file, good);
        await page.close();
      }
    });
  }

  await t.test('the dashboard registers a profile while others run', async () => {
    await config.addCredentials('c');
    const page = await chrome.newPage();
    await page.goto(`${sup.url}/`);
    await page.waitForSelector('#workers tr[data-handle="a"][data-state="ready"]');
    assert.equal(await isVisible(page, '#first-run'), false, 'not the first run');
    assert.equal(await isVisible(page, '#register-form'), true, 'the register form is there anyway');
    await page.type('#register-handle', 'c');
    await page.click('#register-button');
    await waitForText(page, '#register-ok', 'Registered "c"');
    await page.waitForSelector('#workers tr[data-handle="c"][data-state="ready"]', { timeout: 30_000 });
    await page.close();
  });

  await t.test('the dashboard with its supervisor gone says so and shows no stale state (both sizes)', async () => {
    const pages = [];
    for (const viewport of VIEWPORTS) {
      const page = await chrome.newPage(viewport);
      await page.goto(`${sup.url}/`);
      await page.waitForSelector('#workers tr[data-handle="a"][data-state="ready"]');
      pages.push({ page, viewport });
    }
    // stopped as when it is restarted: the workers wait for the next one
    process.kill(sup.proc.pid!, 'SIGTERM');
    for (const { page, viewport } of pages) {
      await waitForText(page, '#list-error', 'The supervisor cannot be reached', 15_000);
      assert.match(await textOf(page, '#list-error'), /comes back by itself when it answers again/);
      assert.equal(await textOf(page, '#summary'), 'supervisor unreachable');
      assert.equal(await page.$('#workers tr[data-state]'), null, 'no row still claims a state');
      assert.match(await textOf(page, '#workers tbody'), /Unknown while the supervisor cannot be reached/);
      await assertUsable(page, `supervisor gone, ${viewport.name}`);
      await page.close();
    }
  });

  assert.deepEqual(chrome.pageErrors, []);
});
