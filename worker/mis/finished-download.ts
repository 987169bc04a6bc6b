/** One file of the download folder, as listed at one poll. */
export interface DownloadEntry {
  name: string;
  size: number;
}

/** Which new file of the download folder is a whole download, if any; `previous` holds each candidate's
 *  size at the poll before (this call updates it). Chrome writes a download into `<name>.crdownload` and
 *  renames it over `<name>` at the end, and may make `<name>` empty beforehand to hold its name: a file is
 *  whole once it has bytes, no `.crdownload` of it is left, and its size held still between two polls. A
 *  `.csv` is preferred to any other file. */
export function finishedDownload(entries: readonly DownloadEntry[], previous: Map<string, number>): string | null {
  const names = new Set(entries.map((e) => e.name));
  const candidates = entries
    .filter((e) => !e.name.endsWith('.crdownload') && !e.name.startsWith('.') && !names.has(`${e.name}.crdownload`))
    .sort((a, b) => Number(b.name.toLowerCase().endsWith('.csv')) - Number(a.name.toLowerCase().endsWith('.csv')));
  let whole: string | null = null;
  for (const e of candidates) {
    if (whole === null && e.size > 0 && previous.get(e.name) === e.size) whole = e.name;
    previous.set(e.name, e.size);
  }
  return whole;
}
