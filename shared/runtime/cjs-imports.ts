// The CommonJS packages both processes load, taken with `require` rather than `import`, for two reasons
// measured in a worker's start (docs/benchmarks.md):
// - `import` of a CommonJS module makes Node scan its source for the names it exports (cjs-module-lexer).
//   The scan of pino, koa and raw-body was hot enough for V8 to optimise it three times during every start:
//   about 100 ms of the optimising compiler's CPU, and its 5 MB of machine code paged into each idle worker.
// - `import http from 'node:http'` builds the module's namespace, which reads its lazy `WebSocket` and
//   `EventSource` getters and so loads Node's fetch (undici): about 20 ms and 10 MB, for nothing. The
//   CommonJS view of the same module does not. The router's ES build imports `http` that way too.
// Types come from the packages as usual (`import type`), values from here.
import { createRequire } from 'node:module';
import type RouterClass from '@koa/router';
import type KoaClass from 'koa';

const require = createRequire(import.meta.url);

export const http = process.getBuiltinModule('node:http') as typeof import('node:http');

export const Router: typeof RouterClass = require('@koa/router');
export type Router = RouterClass;

export const Koa: typeof KoaClass = require('koa');
export type Koa = KoaClass;

export const pino: typeof import('pino').default = require('pino');

export const getRawBody: typeof import('raw-body') = require('raw-body');

/** Required only by whoever calls for them: the supervisor's own (a worker never loads them), and
 *  pino-pretty, for a log written to a terminal. */
export const onDemand = {
  parseurl: (): typeof import('parseurl') => require('parseurl'),
  pinoPretty: (): typeof import('pino-pretty') => require('pino-pretty'),
  promClient: (): typeof import('prom-client') => require('prom-client'),
  /** undici's Pool and Client from their own modules. Its index also loads fetch, WebSocket, EventSource,
   *  its caches and its mocks, and adds its request/stream API to every dispatcher: ~60 ms of CPU at each
   *  supervisor start, for a proxy that only calls `dispatch` (docs/benchmarks.md). A unit test holds these to
   *  be the very classes the index exports, so an undici that moves them fails there, not in production. */
  undiciDispatchers: (): Pick<typeof import('undici'), 'Pool' | 'Client'> => ({
    Pool: require('undici/lib/dispatcher/pool.js'),
    Client: require('undici/lib/dispatcher/client.js'),
  }),
};
