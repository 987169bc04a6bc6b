// An evidence log of everything a scenario saw — every response (status, headers, body) and the output of the
// processes it ran — scanned at the end for planted secrets and `Access-Control-Allow-Origin: *`. Pass it as
// the `record` option of a request or a client (http.ts) and as `ev` to `rawExchange` (raw-http.ts).
import assert from 'node:assert/strict';
import type { Exchange, Recorder } from './http.ts';
import { ALL_SECRETS } from './secrets.ts';

/** Everything a scenario saw: responses (status, headers, body) and the output of the processes it ran. */
export class Evidence implements Recorder {
  readonly exchanges: Exchange[] = [];
  readonly #outputs = new Map<string, () => string>();
  /** Extra texts (stderr of a process that refused to start, files a test read back). */
  readonly texts: { what: string; text: string }[] = [];
  /** Secrets planted by a scenario beyond `ALL_SECRETS` (tokens a fake Google issued). */
  readonly extraSecrets = new Set<string>();

  record(exchange: Exchange): void {
    this.exchanges.push(exchange);
  }

  /** `output()` is read at the end, so it holds every line the process ever wrote. */
  watch(name: string, output: () => string): void {
    this.#outputs.set(name, output);
  }

  note(what: string, text: string): void {
    this.texts.push({ what, text });
  }

  /** No secret in any response or log line; no response allows every origin. */
  assertClean(secrets: Iterable<string> = ALL_SECRETS): void {
    const list = [...new Set([...secrets, ...this.extraSecrets])].filter((s) => s.length >= 6);
    assert.ok(this.exchanges.length > 0, 'no responses were recorded');
    for (const ex of this.exchanges) {
      const acao = ex.headers['access-control-allow-origin'];
      assert.ok(acao === undefined || (acao !== '*' && !(Array.isArray(acao) && acao.includes('*'))), `${ex.what} answered Access-Control-Allow-Origin: ${String(acao)}`);
      const headerText = Object.entries(ex.headers)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : (v ?? '')}`)
        .join('\n');
      for (const secret of list) {
        assert.ok(!ex.text.includes(secret), `${ex.what} → ${ex.status}: the body holds the secret "${secret.slice(0, 5)}…":\n${excerpt(ex.text, secret)}`);
        assert.ok(!headerText.includes(secret), `${ex.what} → ${ex.status}: a header holds the secret "${secret.slice(0, 5)}…"`);
      }
    }
    const texts = [...[...this.#outputs].map(([what, output]) => ({ what, text: output() })), ...this.texts];
    for (const { what, text } of texts) {
      for (const secret of list) {
        assert.ok(!text.includes(secret), `${what} holds the secret "${secret.slice(0, 5)}…": ${excerpt(text, secret)}`);
      }
    }
  }
}

function excerpt(text: string, needle: string): string {
  const at = text.indexOf(needle);
  return `…${text.slice(Math.max(0, at - 300), at + needle.length + 60)}…`;
}
