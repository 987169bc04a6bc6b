// The suites' one HTTP client: a request to a port on 127.0.0.1 with the path sent exactly as written (no URL
// normalisation), on a connection of its own unless an agent is given, redirects not followed; the answer as
// status, headers, text and body (the parsed JSON, or the text when it is not JSON), written down by a
// `Recorder` when one is given (an `Evidence` log, a `ResponseRecorder`). Bytes no HTTP client would send go
// through `rawExchange` (raw-http.ts) instead.
import http from 'node:http';

/** One answer as a recorder keeps it. */
export interface Exchange {
  what: string;
  /** null when the server closed without an HTTP answer. */
  status: number | null;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Where answers are written down, to be scanned at the end (for secrets, for `Access-Control-Allow-Origin`). */
export interface Recorder {
  record(exchange: Exchange): void;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: any;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A Buffer or a string is sent as it is; anything else as JSON, typed application/json unless `headers`
   *  name a content type. Content-Length is set unless `headers` give it or a Transfer-Encoding. */
  body?: unknown;
  /** A string body is JSON too: typed application/json unless `headers` name a content type. */
  jsonStrings?: boolean;
  /** Sends the body with Transfer-Encoding: chunked (no Content-Length to refuse it up front), in pieces of
   *  this many bytes, each written when the socket takes more. */
  chunkBytes?: number;
  /** Rejects when no complete answer came within this many ms; default 30 s. */
  timeoutMs?: number;
  /** Default false: a connection of its own, closed after the answer. */
  agent?: http.Agent | false;
  /** The loopback address the request comes from (127.0.0.2, …): another client, as the server sees it. */
  localAddress?: string;
  /** A stream (Server-Sent Events) never ends: with `text/event-stream`, answer at its headers and hang up. */
  streamsEndAtHeaders?: boolean;
  /** Writes the answer down. */
  record?: Recorder | null;
}

/** Connections kept open between requests (idle ones do not hold the test process up), as `fetch` keeps them:
 *  for clients that stand in for a browser or a script. A server that answers before reading a whole body (a
 *  413) then reads the rest instead of closing on it. */
export const keepAliveAgent = new http.Agent({ keepAlive: true });

/** One request to 127.0.0.1:`port`. */
export function request(port: number, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  return exchange('127.0.0.1', port, method, path, options);
}

/** One request to an absolute http URL (a fake Google's consent page): a redirect is the answer, not followed. */
export function requestUrl(url: string | URL, method = 'GET', options: RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`requestUrl speaks http only: ${u.href}`);
  return exchange(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 80), method, `${u.pathname}${u.search}`, options);
}

function exchange(host: string, port: number, method: string, path: string, options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      const json = !Buffer.isBuffer(options.body) && (typeof options.body !== 'string' || options.jsonStrings);
      if (Buffer.isBuffer(options.body)) payload = options.body;
      else payload = Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      if (json && !has('content-type')) headers['content-type'] = 'application/json';
      if (!options.chunkBytes && !has('content-length') && !has('transfer-encoding')) headers['content-length'] = String(payload.length);
    }
    const what = `${method} ${path.slice(0, 200)}`;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const req = http.request({ host, port, method, path, headers, agent: options.agent ?? false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, (res) => {
      const answered = (text: string) => {
        clearTimeout(timer);
        options.record?.record({ what, status: res.statusCode ?? 0, headers: res.headers, text });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed(text) });
      };
      if (options.streamsEndAtHeaders && String(res.headers['content-type']).startsWith('text/event-stream')) {
        req.destroy();
        answered('');
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => answered(Buffer.concat(chunks).toString('utf8')));
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${what} got no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    if (!payload || !options.chunkBytes) {
      req.end(payload);
      return;
    }
    const body = payload;
    const size = options.chunkBytes;
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + size);
        offset += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

function parsed(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Requests to one port, with default options (headers merged, the request's own win). */
export interface Client {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  send(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  put(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  delete(path: string, headers?: Record<string, string>): Promise<Reply>;
}

export function client(port: number, defaults: Omit<RequestOptions, 'body'> = {}): Client {
  const send = (method: string, path: string, o: RequestOptions = {}) => request(port, method, path, { ...defaults, ...o, headers: { ...defaults.headers, ...o.headers } });
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    send,
    get: (path, headers) => send('GET', path, { headers }),
    post: (path, body, headers) => send('POST', path, { body, headers }),
    put: (path, body, headers) => send('PUT', path, { body, headers }),
    delete: (path, headers) => send('DELETE', path, { headers }),
  };
}
