// Work in progress, without processes: stages are published as they change, a cancel answers `cancelled`
// at once even while the task has not noticed, runs the clean-ups (bounded), and the work is gone from the
// list; work that cannot be cancelled says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../shared/http/api-error.ts';
import { WorkInProgress, type WorkView } from '../../worker/work/work-in-progress.ts';

function tracker() {
  const published: WorkView[] = [];
  const reported: string[][] = [];
  const work = new WorkInProgress((running) => reported.push(running.map((r) => r.name)), (view) => published.push({ ...view }));
  return { work, published, reported };
}

test('stages are published in order, with the attempt, the limit and the title', async () => {
  const { work, published, reported } = tracker();
  const result = await work.track('pull-csv', async (w) => {
    w.stage('opening the MIS');
    w.stage('waiting for the export', { n: 2, of: 3 });
    return 42;
  }, { done: (n) => `got ${n}` });
  assert.equal(result, 42);
  assert.deepEqual(published.map((v) => [v.state, v.stage, v.attempt]), [
    ['running', 'starting', null],
    ['running', 'opening the MIS', null],
    ['running', 'waiting for the export', { n: 2, of: 3 }],
    ['done', 'waiting for the export', { n: 2, of: 3 }],
  ]);
  assert.equal(published.at(-1)!.message, 'got 42');
  assert.equal(published[0]!.title, 'Pulling the MIS CSV');
  assert.equal(published[0]!.limit_ms, 120_000);
  assert.deepEqual(reported, [['pull-csv'], []]);
  assert.deepEqual(work.views, []);
});

test('a cancel answers `cancelled` at once, runs the clean-up, and the work is gone', async () => {
  const { work, published } = tracker();
  let cleaned = false;
  let release!: () => void;
  const hanging = new Promise<void>((resolve) => (release = resolve));
  const running = work.track('init-all', async (w) => {
    w.onCancel(async () => {
      cleaned = true;
    });
    w.stage('signing in');
    await hanging; // never notices the cancel by itself
    return 'finished';
  });
  const view = work.find({ name: 'init-all' })!;
  assert.ok(view);
  await view.cancel();
  await assert.rejects(running, (e: unknown) => e instanceof ApiError && e.code === 'cancelled' && e.status === 409 && /was cancelled; nothing was kept/.test(e.message));
  assert.equal(cleaned, true);
  assert.equal(published.at(-1)!.state, 'cancelled');
  assert.deepEqual(work.views, []);
  release();
});

test('a failure is `failed` with its message; the signal aborts only on cancel', async () => {
  const { work, published } = tracker();
  let signal: AbortSignal | null = null;
  await assert.rejects(
    work.track('load-sheet', async (w) => {
      signal = w.signal;
      throw new ApiError(502, 'google_unreachable', 'no network');
    }),
    /no network/,
  );
  assert.equal(signal!.aborted, false);
  assert.equal(published.at(-1)!.state, 'failed');
  assert.equal(published.at(-1)!.message, 'no network');
});

test('a clean-up that hangs does not hold the cancel beyond its bound', async () => {
  const { work } = tracker();
  const running = work.track('pull-csv', (w) => {
    w.onCancel(() => new Promise(() => {}));
    return new Promise(() => {});
  });
  running.catch(() => {});
  const alive = setTimeout(() => {}, 10_000); // the bound's own timer does not keep a process alive
  const started = performance.now();
  await work.find({ name: 'pull-csv' })!.cancel();
  clearTimeout(alive);
  assert.ok(performance.now() - started < 2000, 'cancel came back within two seconds');
  await assert.rejects(running, /cancelled/);
});

test('work that cannot be cancelled is marked so', async () => {
  const { work } = tracker();
  let release!: () => void;
  const running = work.track('browser-close', () => new Promise<void>((resolve) => (release = resolve)), { cancellable: false });
  assert.equal(work.find({ name: 'browser-close' })!.view.cancellable, false);
  release();
  await running;
});
