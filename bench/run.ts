// `npm run bench` measures the system and its alternatives in one run and writes docs/benchmarks.md.
// `npm run bench -- --tiny` runs everything once at tiny size (the smoke test does this) and writes nothing.
import fs from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../shared/profiles/paths.ts';
import { machine, type Row } from './lib.ts';
import * as proxy from './proxy.ts';
import * as lifecycle from './lifecycle.ts';
import * as restart from './restart.ts';
import * as cost from './cost.ts';

const tiny = process.argv.includes('--tiny');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const suites = { proxy, cost, lifecycle, restart } as const;

const rows: Row[] = [];
const started = new Date();
for (const [name, suite] of Object.entries(suites)) {
  if (only && only !== name) continue;
  process.stderr.write(`bench: ${name}…\n`);
  rows.push(...(await suite.run(tiny ? 'tiny' : 'full')));
}

const table = [
  '| figure | measured | target | met |',
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.figure} | ${r.value}${r.note ? ` (${r.note})` : ''} | ${r.target} | ${r.met === null ? '' : r.met ? 'yes' : '**no**'} |`),
].join('\n');
process.stdout.write(`${table}\n`);

if (!tiny) {
  const command = `npm run bench${only ? ` -- --only=${only}` : ''}`;
  const file = path.join(PROJECT_ROOT, 'docs', 'benchmarks.md');
  const previous = await fs.readFile(file, 'utf8').catch(() => '');
  const notes = /<!-- notes -->[\s\S]*$/.exec(previous)?.[0] ?? '<!-- notes -->\n';
  const text = `# Benchmarks\n\nMeasured by \`${command}\` on ${started.toISOString()}.\n\nMachine: ${machine()}.\n\n${table}\n\n${notes}`;
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
  process.stderr.write(`bench: written to docs/benchmarks.md\n`);
}
process.exit(0);
