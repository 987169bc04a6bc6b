// A page following a server's Server-Sent Events: every page reconnects the same way. While the connection
// is up, events go to their handlers; when it drops, the browser reconnects by itself (the stream's `retry`);
// when the server refuses it outright (closed), `explain` is asked why — a reason ends the following, none
// means try again in a moment.

/**
 * @typedef {object} Following
 * @property {Record<string, (data: string) => void>} events handlers by event name (the raw `data`)
 * @property {() => void} [onUp] connected (again)
 * @property {() => void} [onDown] the connection dropped; the browser reconnects by itself
 * @property {() => Promise<string | null>} [explain] refused: why (ends it), or null (try again)
 * @property {(reason: string) => void} [onEnded] ended for `reason`
 * @property {number} [retryMs] how soon after a refusal without a reason (2 s)
 * @property {typeof EventSource} [EventSourceClass] for tests
 */

/** @param {string} url @param {Following} f @returns {{ close(): void }} */
export function followEvents(url, f) {
  const Source = f.EventSourceClass ?? EventSource;
  /** @type {EventSource | null} */
  let source = null;
  let closed = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const connect = () => {
    if (closed) return;
    const s = new Source(url);
    source = s;
    s.addEventListener('open', () => f.onUp?.());
    for (const [name, handler] of Object.entries(f.events)) s.addEventListener(name, (e) => handler(/** @type {MessageEvent} */ (e).data));
    s.addEventListener('error', async () => {
      if (s.readyState !== Source.CLOSED) return f.onDown?.();
      f.onDown?.();
      const why = f.explain ? await f.explain() : null;
      if (closed) return;
      if (why) {
        closed = true;
        f.onEnded?.(why);
      } else timer = setTimeout(connect, f.retryMs ?? 2000);
    });
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      source?.close();
    },
  };
}
