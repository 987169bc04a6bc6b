import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT, RUNS_COMPILED } from '../profiles/paths.ts';

// A logged stack trace names the .ts lines, as `--enable-source-maps` would make it, but mapped when an error
// is logged instead of at every start: Node's flag reads and indexes the map of every module as it loads
// (docs/benchmarks.md, "What the profiles say"). Only the frames (`    at …`) in our own compiled files are
// mapped, never the message (which may quote what a client sent); their maps sit beside them (`x.js.map`,
// written by the build).
const DIST = path.join(PROJECT_ROOT, 'dist');
const FRAME_LINE = /^\s+at /;
const LOCATION = /((?:file:\/\/)?\/[^\s():]+\.js):(\d+):(\d+)/g;
const maps = new Map<string, SourceMap | null>();

/** `stack` with each frame in a compiled file of ours replaced by its place in the .ts source. */
export function sourceMappedStack(stack: string): string {
  return RUNS_COMPILED ? sourceMappedStackIn(DIST, stack) : stack;
}

/** The same, for the compiled files under `dist`. */
export function sourceMappedStackIn(dist: string, stack: string): string {
  return stack
    .split('\n')
    .map((line) => (FRAME_LINE.test(line) ? line.replace(LOCATION, (frame, location: string, row: string, column: string) => mapped(dist, location, row, column) ?? frame) : line))
    .join('\n');
}

function mapped(dist: string, location: string, row: string, column: string): string | null {
  const file = path.resolve(location.startsWith('file://') ? fileURLToPath(location) : location);
  if (!file.startsWith(dist + path.sep)) return null;
  const entry = mapOf(file)?.findEntry(Number(row) - 1, Number(column) - 1);
  if (!entry || !('originalSource' in entry)) return null;
  const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(file), entry.originalSource);
  return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
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
