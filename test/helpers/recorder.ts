import assert from 'node:assert/strict';

export interface Reply {
  status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: any;
  text: string;
  headers: Headers;
}

export interface Client {
  readonly base: string;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  put(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  delete(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** Any request; a string or Buffer body is sent as it is, anything else as JSON. */
  send(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
}

/** Records the text of every response a suite received, so the suite can prove at its end that no route
 *  ever answered with a password, client secret or token. */
export class ResponseRecorder {
  readonly texts: string[] = [];

  async fetch(url: string, init: RequestInit = {}): Promise<Reply> {
    const res = await fetch(url, init);
    const text = await res.text();
    this.texts.push(`${init.method ?? 'GET'} ${url} → ${res.status}\n${text}`);
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body, text, headers: res.headers };
  }

  client(base: string): Client {
    const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        if (typeof body === 'string' || body instanceof Uint8Array) {
          init.body = body;
        } else {
          init.body = JSON.stringify(body);
          (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
        }
      }
      return this.fetch(base + path, init);
    };
    return {
      base,
      send,
      get: (path, headers) => send('GET', path, undefined, headers),
      post: (path, body, headers) => send('POST', path, body, headers),
      put: (path, body, headers) => send('PUT', path, body, headers),
      delete: (path, headers) => send('DELETE', path, undefined, headers),
    };
  }

  /** Fails naming the response that carried one of `secrets`. */
  assertNoSecrets(secrets: Iterable<string>): void {
    const list = [...secrets].filter((s) => s.length >= 6);
    assert.ok(this.texts.length > 0, 'no responses were recorded');
    for (const text of this.texts) {
      for (const secret of list) {
        assert.ok(!text.includes(secret), `a response carried the secret "${secret.slice(0, 4)}…":\n${text.slice(0, 600)}`);
      }
    }
  }
}

/** The same check for a process's log output. */
export function assertTextHasNoSecrets(what: string, text: string, secrets: Iterable<string>): void {
  for (const secret of secrets) {
    if (secret.length < 6) continue;
    const at = text.indexOf(secret);
    assert.equal(at, -1, `${what} holds the secret "${secret.slice(0, 4)}…": …${text.slice(Math.max(0, at - 200), at + 50)}…`);
  }
}
