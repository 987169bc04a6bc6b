// One direction, enforced (docs/architecture.md, "The tree"): the imports of every source file, parsed, form no
// cycle, and no edge goes where the architecture says it must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/profiles/paths.ts';

type Graph = Map<string, string[]>;

const SOURCE_DIRS = ['shared', 'supervisor', 'worker', 'scripts'];
const IMPORT = /(?:^|[;\s])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every source file (relative to the project) and the project files it imports, type-only imports too. */
function importGraph(root: string): Graph {
  const graph: Graph = new Map();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (/\.(ts|mjs|js)$/.test(entry.name)) graph.set(rel, importsOf(root, rel));
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return graph;
}

function importsOf(root: string, file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  const out: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3]!;
    if (spec.startsWith('.')) out.push(pageModule(root, file, spec) ?? path.normalize(path.join(path.dirname(file), spec)));
  }
  return out;
}

/** The pages' folders are one folder to the browser (all served under `assets/`): a page's `./client.js` is
 *  `shared/ui/client.js` (tsconfig.pages.json's rootDirs). */
const PAGE_DIRS = ['shared/ui', 'supervisor/web/public', 'worker/web/public'];
function pageModule(root: string, file: string, spec: string): string | null {
  if (!PAGE_DIRS.includes(path.dirname(file)) || !spec.startsWith('./')) return null;
  return PAGE_DIRS.map((dir) => path.join(dir, spec.slice(2))).find((candidate) => fs.existsSync(path.join(root, candidate))) ?? null;
}

/** The cycles of a graph (each once, as the path that closes it). */
function cyclesOf(graph: Graph): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found = new Map<string, string[]>();
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        found.set([...cycle].sort().join(' '), [...cycle, next]);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return [...found.values()];
}

interface Rule {
  from: RegExp;
  to: RegExp;
  unless?: RegExp;
  why: string;
}

const RULES: Rule[] = [
  { from: /^shared\//, to: /^(supervisor|worker)\//, why: 'shared/ is what both processes use: it depends on neither' },
  { from: /^supervisor\//, to: /^worker\//, why: 'the processes talk only over IPC, HTTP and files' },
  { from: /^worker\//, to: /^supervisor\//, why: 'the processes talk only over IPC, HTTP and files' },
  { from: /^supervisor\/proxy\//, to: /^supervisor\/(control|workers|access|web)\//, why: 'the proxy forwards; it never decides, nor starts a process' },
  { from: /^supervisor\/control\//, to: /^supervisor\/(proxy|access|web)\//, why: 'the decisions (desired state, reconcile, the loop) know nothing of requests' },
  { from: /^supervisor\/workers\//, to: /^supervisor\/(control|access|web|proxy)\//, unless: /^supervisor\/proxy\/admission\.ts$/, why: 'a lifecycle only opens and holds its admission; it never routes nor decides' },
  { from: /^supervisor\/web\/(landing-pages|readable-lines|metrics)\.ts$|^supervisor\/web\/public\/|^shared\/ui\//, to: /^supervisor\/access\/|^shared\/access\/access-rules\.ts$/, why: 'pages never take an access decision: they are told what the person may do' },
  { from: /./, to: /^(supervisor|worker)\/main\.ts$/, why: 'an entry point is imported by nothing' },
  { from: /^(shared|supervisor|worker|scripts)\//, to: /^(test|bench)\//, why: 'production code never knows it is tested or measured' },
];

function violations(graph: Graph, rules: Rule[]): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      for (const rule of rules) {
        if (rule.from.test(from) && rule.to.test(to) && !rule.unless?.test(to)) out.push(`${from} → ${to}: ${rule.why}`);
      }
    }
  }
  return out;
}

test('the source files import each other in one direction: no cycle, no forbidden edge', () => {
  const graph = importGraph(PROJECT_ROOT);
  assert.ok(graph.size > 100, `${graph.size} files read`);
  assert.ok([...graph.values()].flat().length > 300, 'imports were found');
  assert.deepEqual(cyclesOf(graph).map((c) => c.join(' → ')), [], 'import cycles');
  assert.deepEqual(violations(graph, RULES), [], 'imports the architecture forbids');
});

test('the check itself: it finds a cycle, also through a type import, and a forbidden edge', () => {
  const graph: Graph = new Map([
    ['worker/a.ts', ['worker/b.ts']],
    ['worker/b.ts', ['worker/c.ts']],
    ['worker/c.ts', ['worker/a.ts']],
    ['shared/x.ts', ['supervisor/y.ts']],
    ['supervisor/y.ts', []],
  ]);
  assert.deepEqual(cyclesOf(graph), [['worker/a.ts', 'worker/b.ts', 'worker/c.ts', 'worker/a.ts']]);
  assert.deepEqual(violations(graph, RULES), ['shared/x.ts → supervisor/y.ts: shared/ is what both processes use: it depends on neither']);
  // and the parser reads every form of import
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, 'shared', '.import-graph-'));
  try {
    const base = path.relative(PROJECT_ROOT, dir);
    fs.writeFileSync(path.join(dir, 'm.ts'), "import type { A } from './a.ts';\nimport './b.ts';\nexport { c } from '../c.ts';\nconst d = await import('./d.ts');\n// import { no } from './comment.ts';\n");
    assert.deepEqual(importsOf(PROJECT_ROOT, path.join(base, 'm.ts')), [path.join(base, 'a.ts'), path.join(base, 'b.ts'), 'shared/c.ts', path.join(base, 'd.ts')]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
