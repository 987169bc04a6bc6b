// `import http from 'node:http'` in an ES module makes Node build the module's namespace, which reads its
// lazy `WebSocket`/`EventSource` getters and so loads undici: about 20 ms and 10 MB in every worker, for
// nothing. The CommonJS view of the same module does not. Both processes take `node:http` and the router
// (whose ES build imports `http`) from here.
import { createRequire } from 'node:module';
import type RouterClass from '@koa/router';

export const http = process.getBuiltinModule('node:http') as typeof import('node:http');

const require = createRequire(import.meta.url);
export const Router: typeof RouterClass = require('@koa/router');
export type Router = RouterClass;
