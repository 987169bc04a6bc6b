// What a worker gets of a client's request (supervisor/proxy/forwarded-headers.ts): the end-to-end headers, never
// the client's credentials for the supervisor (Authorization, the tat_session cookie, the sign-in proxy's
// header) nor its copies of the supervisor's own x-tat-* headers; X-Forwarded-* set; the same for WebSockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { forwardedHeaders, upgradeHeaders } from '../../supervisor/proxy/forwarded-headers.ts';

function request(raw: [string, string][]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of raw) headers[name.toLowerCase()] = value;
  return { rawHeaders: raw.flat(), headers, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
}

const asObject = (list: string[]) => {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < list.length; i += 2) (out[list[i]!.toLowerCase()] ??= []).push(list[i + 1]!);
  return out;
};

test("a worker never gets the client's credentials for the supervisor, nor its x-tat-* headers", () => {
  const req = request([
    ['Host', 'localhost:5000'],
    ['Authorization', 'Bearer tat_person-token'],
    ['Cookie', 'theme=dark; tat_session=secret-session-id; lang=en'],
    ['X-Forwarded-User', 'root'],
    ['X-Remote-User', 'root'],
    ['X-Tat-User', 'root'],
    ['x-tat-grants', '*'],
    ['X-Tat-Internal', 'guess'],
    ['Accept', 'application/json'],
    ['Connection', 'keep-alive, X-Custom-Hop'],
    ['X-Custom-Hop', 'dropped'],
  ]);
  const out = asObject(forwardedHeaders(req, '/p/a', 'x-remote-user'));
  for (const name of ['authorization', 'x-remote-user', 'x-tat-user', 'x-tat-grants', 'x-tat-internal', 'connection', 'x-custom-hop']) {
    assert.equal(out[name], undefined, `${name} reached the worker`);
  }
  assert.deepEqual(out.cookie, ['theme=dark; lang=en'], 'the other cookies stay, the sign-in cookie goes');
  assert.deepEqual(out.accept, ['application/json']);
  assert.deepEqual(out['x-forwarded-for'], ['127.0.0.1']);
  assert.deepEqual(out['x-forwarded-prefix'], ['/p/a']);
  assert.deepEqual(out['x-forwarded-host'], ['localhost:5000']);

  const only = asObject(forwardedHeaders(request([['Cookie', 'tat_session=x']]), '', 'x-forwarded-user'));
  assert.equal(only.cookie, undefined, 'a Cookie header with nothing else left is dropped');
});

test('a WebSocket upgrade: the same headers, plus its own handshake, and who is asking as the supervisor says', () => {
  const req = request([
    ['Host', 'localhost:5000'],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'websocket'],
    ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ['Sec-WebSocket-Version', '13'],
    ['Cookie', 'tat_session=secret-session-id'],
    ['Authorization', 'Bearer x'],
    ['X-Tat-User', 'root'],
  ]);
  const out = upgradeHeaders(req, '/p/a', 'x-forwarded-user', ['x-tat-user', 'lisa', 'x-tat-grants', 'a']);
  assert.equal(out.connection, 'Upgrade');
  assert.equal(out.upgrade, 'websocket');
  assert.equal(out['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
  assert.equal(out['x-tat-user'], 'lisa', "the supervisor's word, not the client's");
  assert.equal(out['x-forwarded-proto'], 'ws');
  assert.equal(out.cookie, undefined);
  assert.equal(out.authorization, undefined);
});
