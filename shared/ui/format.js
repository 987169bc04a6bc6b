// How the pages write times and sizes: one way everywhere.

/** `42 s`, or `3 min` from a minute and a half on. @param {number} ms */
export function seconds(ms) {
  return ms < 90_000 ? `${Math.max(0, Math.round(ms / 1000))} s` : `${Math.round(ms / 60_000)} min`;
}

/** ` · 12 s so far, at most 30 s`: a start, stop or piece of work under way. @param {number} since @param {number} limit @param {number} now */
export function elapsedText(since, limit, now) {
  return ` · ${seconds(now - since)} so far, at most ${seconds(limit)}`;
}

/** How long something has been up: `45s`, `12m 3s`, `5h 2m`, `3d 4h`. @param {number | null | undefined} ms */
export function duration(ms) {
  if (ms == null) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** `512 kB`, `76 MB`. @param {number | null | undefined} n */
export function bytes(n) {
  if (n == null) return '';
  return n > 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(0)} MB` : `${(n / 1024).toFixed(0)} kB`;
}

/** `12:34:56.789` in the reader's time zone, the date in front when it is not today. @param {Date} date @param {Date} [today] */
export function clock(date, today = new Date()) {
  if (Number.isNaN(date.getTime())) return '';
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const ms = String(date.getMilliseconds()).padStart(3, '0');
  const sameDay = date.toDateString() === today.toDateString();
  return `${sameDay ? '' : `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} `}${time}.${ms}`;
}
