// The CommonJS packages taken from one of their own modules rather than their index
// (shared/runtime/cjs-imports.ts) are the very values the index exports: an upgrade that moves them fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { onDemand } from '../../shared/runtime/cjs-imports.ts';

const require = createRequire(import.meta.url);

test("undici's Pool and Client, taken from their own modules, are the classes undici exports", () => {
  const { Pool, Client } = onDemand.undiciDispatchers();
  const undici = require('undici') as typeof import('undici');
  assert.equal(Pool, undici.Pool);
  assert.equal(Client, undici.Client);
});
