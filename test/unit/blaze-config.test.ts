import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlazeConfigPatchSchema, PasswordOriginError, applyBlazePatch, normaliseBlazeConfig, passwordOrigin, publicBlazeConfig } from '../../shared/profiles/blaze-config.ts';

const flat = {
  mis_username: 'nick@theartisttree.com',
  mis_password: 'mis-pass-1',
  blaze_email: 'nick@blaze.me',
  blaze_password: 'blaze-pass-2',
  blaze_api_url: 'https://api.blaze.me',
  google_sheet_url: 'https://docs.google.com/spreadsheets/d/abc/edit',
  mis_url: 'https://mis.theartisttree.com/daily-discount',
};

test('a flat config reads back as it is', () => {
  assert.deepEqual(normaliseBlazeConfig(flat), flat);
});

test('the legacy nested config normalises to flat', () => {
  const legacy = {
    mis: { username: 'nick@theartisttree.com', password: 'mis-pass-1' },
    blaze: { email: 'nick@blaze.me', password: 'blaze-pass-2' },
    google_sheet: { default_url: 'https://docs.google.com/spreadsheets/d/abc/edit' },
  };
  assert.deepEqual(normaliseBlazeConfig(legacy), {
    mis_username: 'nick@theartisttree.com',
    mis_password: 'mis-pass-1',
    blaze_email: 'nick@blaze.me',
    blaze_password: 'blaze-pass-2',
    google_sheet_url: 'https://docs.google.com/spreadsheets/d/abc/edit',
  });
});

test('a partly nested config keeps what it has, and flat keys beside it win', () => {
  assert.deepEqual(normaliseBlazeConfig({ mis: { username: 'u' }, blaze_api_url: 'https://api.blaze.me' }), {
    mis_username: 'u',
    blaze_api_url: 'https://api.blaze.me',
  });
  assert.deepEqual(normaliseBlazeConfig({ mis: { username: 'old' }, mis_username: 'new' }), { mis_username: 'new' });
});

test('unknown keys, non-strings and non-objects are dropped', () => {
  assert.deepEqual(normaliseBlazeConfig({ mis_username: 'u', extra: 'x', mis_password: 5, blaze_email: null }), { mis_username: 'u' });
  for (const v of [null, undefined, 'str', 3, [], [flat]]) assert.deepEqual(normaliseBlazeConfig(v), {});
});

test('publicBlazeConfig never contains the password values', () => {
  const pub = publicBlazeConfig(flat);
  const text = JSON.stringify(pub);
  assert.ok(!text.includes('mis-pass-1'));
  assert.ok(!text.includes('blaze-pass-2'));
  assert.equal('mis_password' in pub, false);
  assert.equal('blaze_password' in pub, false);
  assert.equal(pub.mis_password_set, true);
  assert.equal(pub.blaze_password_set, true);
  assert.equal(pub.mis_username, flat.mis_username);
  assert.equal(pub.blaze_api_url, flat.blaze_api_url);
});

test('publicBlazeConfig reports unset and empty passwords as not set', () => {
  assert.deepEqual(publicBlazeConfig({}), { mis_password_set: false, blaze_password_set: false });
  const pub = publicBlazeConfig({ mis_password: '', blaze_password: '' });
  assert.equal(pub.mis_password_set, false);
  assert.equal(pub.blaze_password_set, false);
});

test('the patch schema accepts the guide\'s body, a full flat config and empty URLs', () => {
  const guide = { mis_username: 'nick@theartisttree.com', mis_password: 'yourpassword', blaze_api_url: 'https://api.blaze.me' };
  assert.deepEqual(BlazeConfigPatchSchema.parse(guide), guide);
  assert.deepEqual(BlazeConfigPatchSchema.parse(flat), flat);
  assert.deepEqual(BlazeConfigPatchSchema.parse({ mis_url: '', blaze_api_url: 'http://localhost:8080/x' }), {
    mis_url: '',
    blaze_api_url: 'http://localhost:8080/x',
  });
  assert.deepEqual(BlazeConfigPatchSchema.parse({}), {});
});

function rejects(value: unknown, field: string) {
  const result = BlazeConfigPatchSchema.safeParse(value);
  assert.equal(result.success, false, JSON.stringify(value));
  const issues = result.error!.issues;
  assert.ok(
    issues.some((i) => i.path.join('.') === field || (i.code === 'unrecognized_keys' && i.keys.includes(field))),
    `expected an issue about ${field}: ${JSON.stringify(issues)}`,
  );
}

test('the patch schema rejects unknown keys (a typo is not silently dropped)', () => {
  rejects({ mis_usrname: 'x' }, 'mis_usrname');
  rejects({ mis_username: 'x', password: 'y' }, 'password');
});

test('the patch schema rejects control characters', () => {
  rejects({ mis_username: 'nick\nX-Injected: 1' }, 'mis_username');
  rejects({ mis_password: 'a\u0000b' }, 'mis_password');
  rejects({ blaze_email: 'x\u007f' }, 'blaze_email');
  rejects({ blaze_password: '\r' }, 'blaze_password');
});

test('the patch schema rejects over-long values', () => {
  assert.equal(BlazeConfigPatchSchema.safeParse({ mis_username: 'u'.repeat(320) }).success, true);
  rejects({ mis_username: 'u'.repeat(321) }, 'mis_username');
  rejects({ mis_password: 'p'.repeat(1025) }, 'mis_password');
  rejects({ blaze_api_url: `https://api.blaze.me/${'x'.repeat(2048)}` }, 'blaze_api_url');
});

test('the patch schema rejects non-http URLs and non-strings', () => {
  rejects({ blaze_api_url: 'javascript:alert(1)' }, 'blaze_api_url');
  rejects({ mis_url: 'file:///etc/passwd' }, 'mis_url');
  rejects({ google_sheet_url: 'ftp://example.com/x' }, 'google_sheet_url');
  rejects({ mis_url: 'not a url' }, 'mis_url');
  rejects({ mis_username: 5 }, 'mis_username');
  rejects({ mis_password: null }, 'mis_password');
});

const DEFAULTS = { MIS_URL: 'https://mis.theartisttree.com/daily-discount', BLAZE_API_URL: 'https://api.blaze.me' };

test('a password goes only where it was saved for: another origin needs it again, in the same request', () => {
  const saved = applyBlazePatch({}, { mis_username: 'nick', mis_password: 'secret-1' }, DEFAULTS);
  assert.equal(saved.mis_password_origin, 'https://mis.theartisttree.com');
  // the same site, another page or path: fine
  assert.equal(applyBlazePatch(saved, { mis_url: 'https://mis.theartisttree.com/other' }, DEFAULTS).mis_password, 'secret-1');
  // another origin alone — another host, port or scheme, or the default moved away by an empty URL — refused
  for (const mis_url of ['https://evil.example/login', 'http://mis.theartisttree.com/daily-discount', 'https://mis.theartisttree.com:8443/x', 'https://mis.theartisttree.com.evil.example/']) {
    assert.throws(() => applyBlazePatch(saved, { mis_url }, DEFAULTS), (e: unknown) => e instanceof PasswordOriginError && e.field === 'mis_password' && /send the password again/.test(e.message), mis_url);
  }
  const moved = applyBlazePatch({ ...saved, mis_url: 'https://mis.theartisttree.com/x' }, {}, DEFAULTS);
  assert.throws(() => applyBlazePatch(moved, { mis_url: '' }, { ...DEFAULTS, MIS_URL: 'https://elsewhere.example/' }), PasswordOriginError);
  // with the password again: saved for the new origin
  const again = applyBlazePatch(saved, { mis_url: 'https://mis2.example/daily', mis_password: 'secret-2' }, DEFAULTS);
  assert.equal(again.mis_password_origin, 'https://mis2.example');
  assert.equal(passwordOrigin(again, 'mis', DEFAULTS), 'https://mis2.example');
  // no password saved: nothing to protect
  assert.equal(applyBlazePatch({ mis_username: 'x' }, { mis_url: 'https://anywhere.example/' }, DEFAULTS).mis_url, 'https://anywhere.example/');
  // the Blaze password alike
  const blaze = applyBlazePatch({}, { blaze_password: 'b-1' }, DEFAULTS);
  assert.throws(() => applyBlazePatch(blaze, { blaze_api_url: 'https://api.evil.example' }, DEFAULTS), (e: unknown) => e instanceof PasswordOriginError && e.field === 'blaze_password');
  // a file from before origins were kept: the origin of the URL it names
  assert.equal(passwordOrigin({ mis_password: 'old', mis_url: 'https://old.example/x' }, 'mis', DEFAULTS), 'https://old.example');
  assert.throws(() => applyBlazePatch({ mis_password: 'old', mis_url: 'https://old.example/x' }, { mis_url: 'https://evil.example/' }, DEFAULTS), PasswordOriginError);
});

test('the origins are the worker\'s: a save request cannot set them, and they are never shown', () => {
  assert.equal(BlazeConfigPatchSchema.safeParse({ mis_password_origin: 'https://evil.example' }).success, false);
  const shown = publicBlazeConfig({ mis_password: 'x', mis_password_origin: 'https://mis.example' });
  assert.ok(!('mis_password_origin' in shown));
});
