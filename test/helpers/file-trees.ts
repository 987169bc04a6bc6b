// Before/after pictures of a directory tree: a refused request must change no file.
import fs from 'node:fs';
import path from 'node:path';

/** Files under `dir` with their bytes (base64) and mode, for before/after comparisons. */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        out.set(`${rel}/`, `dir ${(fs.statSync(full).mode & 0o777).toString(8)}`);
        walk(full);
      } else if (entry.isFile()) {
        const st = fs.statSync(full);
        out.set(rel, `${(st.mode & 0o777).toString(8)} ${st.mtimeMs} ${fs.readFileSync(full).toString('base64')}`);
      } else out.set(rel, 'other');
    }
  };
  walk(dir);
  return out;
}

/** Entries that differ between two snapshots (added, removed or changed). */
export function diffTrees(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of before) if (after.get(k) !== v) out.push(after.has(k) ? `changed ${k}` : `removed ${k}`);
  for (const k of after.keys()) if (!before.has(k)) out.push(`added ${k}`);
  return out;
}
