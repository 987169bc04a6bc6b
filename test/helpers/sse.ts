// A Server-Sent Events client for tests: every event, comment and retry hint as it arrives, and when the
// stream ends.
import http from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
  at: number;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  comments: string[];
  retry: number | null;
  /** Resolves with the first event (already received or to come) that matches. */
  next(predicate: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  ended: Promise<number>;
  close(): void;
}

/** Opens `path` on 127.0.0.1:`port` as an event stream. */
export function openStream(port: number, path: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const stream: SseStream = {
        status: res.statusCode!,
        headers: res.headers,
        events: [],
        comments: [],
        retry: null,
        next(predicate, timeoutMs = 5000) {
          return new Promise((ok, fail) => {
            const check = () => {
              const hit = stream.events.find(predicate);
              if (!hit) return false;
              clearTimeout(timer);
              waiters.delete(check);
              ok(hit);
              return true;
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`no such event within ${timeoutMs} ms; got: ${stream.events.map((e) => `${e.event} ${e.data.slice(0, 120)}`).join('\n')}`));
            }, timeoutMs);
            if (!check()) waiters.add(check);
          });
        },
        ended: new Promise((ok) => res.once('close', () => ok(performance.now()))),
        close: () => req.destroy(),
      };
      const waiters = new Set<() => boolean>();
      let buffer = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) stream.comments.push(line);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
            else if (line.startsWith('retry: ')) stream.retry = Number(line.slice(7));
          }
          if (data.length) stream.events.push({ event, data: data.join('\n'), at: performance.now() });
        }
        for (const check of [...waiters]) check();
      });
      resolve(stream);
    });
    req.on('error', reject);
  });
}
