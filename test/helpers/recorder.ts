import assert from 'node:assert/strict';
import { client, keepAliveAgent, type Client, type Exchange, type Recorder } from './http.ts';

/** Records the text of every response a suite received, so the suite can prove at its end that no route
 *  ever answered with a password, client secret or token. */
export class ResponseRecorder implements Recorder {
  readonly texts: string[] = [];

  record(exchange: Exchange): void {
    this.texts.push(`${exchange.what} → ${exchange.status}\n${exchange.text}`);
  }

  /** Requests to a worker's `url` (http.ts) over kept-alive connections, each answer recorded. */
  client(url: string): Client {
    return client(Number(new URL(url).port), { record: this, timeoutMs: 300_000, agent: keepAliveAgent });
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
