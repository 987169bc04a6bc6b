import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT, RUNS_COMPILED } from '../profiles/paths.ts';

// A logged stack trace names the .ts lines, as `--enable-source-maps` would make it, but mapped when an error
// is logged instead of at every start: Node's flag reads and indexes the map of every module as it loads
// (docs/benchmarks.md, "What the profiles say"). Only our own compiled files are mapped; their maps sit
// beside them (`x.js.map`, written by the build).
const DIST = path.join(PROJECT_ROOT, 'dist') + path.sep;
const FRAME = /((?:file:\/\/)?\/[^\s():]+\.js):(\d+):(\d+)/g;
const maps = new Map<string, SourceMap | null>();

/** `stack` with each frame in a compiled file of ours replaced by its place in the .ts source. */
export function sourceMappedStack(stack: string): string {
  if (!RUNS_COMPILED) return stack;
  return stack.replace(FRAME, (frame, location: string, line: string, column: string) => {
    const file = location.startsWith('file://') ? fileURLToPath(location) : location;
    if (!file.startsWith(DIST)) return frame;
    const entry = mapOf(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !('originalSource' in entry)) return frame;
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(file), entry.originalSource);
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

function mapOf(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null; // no map (or an unreadable one): the frame stays as it is
    }
    maps.set(file, map);
  }
  return map;
}
