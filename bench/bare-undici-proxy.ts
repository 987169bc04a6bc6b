// The floor the supervisor's hop is compared with: the smallest proxy that does the same transport (a
// node:http server, an undici Pool on the worker's Unix socket, pool.stream), with nothing else — no
// admission, no replays, no headers rewritten, no metrics. `node bench/bare-undici-proxy.ts <socket> <port>`.
import http from 'node:http';
import type { Writable } from 'node:stream';
import { Pool } from 'undici';

const [socketPath, port] = process.argv.slice(2);
const pool = new Pool('http://127.0.0.1', { socketPath: socketPath!, connections: 256 });
http
  .createServer((req, res) => {
    pool.stream(
      { method: 'GET', path: req.url!.replace(/^\/p\/[^/]+/, ''), headers: { host: req.headers.host ?? '' }, opaque: res },
      ({ statusCode, headers, opaque }) => {
        (opaque as http.ServerResponse).writeHead(statusCode, headers as http.OutgoingHttpHeaders);
        return opaque as Writable;
      },
      () => {},
    );
  })
  .listen(Number(port), '127.0.0.1');
