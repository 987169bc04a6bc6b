// Which file of the download folder is a whole download (worker/mis/finished-download.ts): never the empty
// name Chrome holds, never a file with its .crdownload beside it, never one still growing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finishedDownload } from '../../worker/mis/finished-download.ts';

function polls(...lists: { name: string; size: number }[][]): (string | null)[] {
  const sizes = new Map<string, number>();
  return lists.map((entries) => finishedDownload(entries, sizes));
}

test('a file is taken once it has bytes and its size held still for one poll', () => {
  assert.deepEqual(polls([{ name: 'export.csv', size: 272 }], [{ name: 'export.csv', size: 272 }]), [null, 'export.csv']);
});

test("the empty file Chrome makes to hold the name, and a file beside its .crdownload, are not taken", () => {
  assert.deepEqual(
    polls(
      [{ name: 'export.csv', size: 0 }],
      [{ name: 'export.csv', size: 0 }, { name: 'export.csv.crdownload', size: 136 }],
      [{ name: 'export.csv', size: 136 }, { name: 'export.csv.crdownload', size: 136 }],
      [{ name: 'export.csv', size: 272 }],
      [{ name: 'export.csv', size: 272 }],
    ),
    [null, null, null, null, 'export.csv'],
  );
  const held = [{ name: 'export.csv', size: 0 }];
  assert.deepEqual(polls(held, held, held), [null, null, null], 'an empty file, its .crdownload not made yet');
  const writing = [{ name: 'export.csv', size: 136 }, { name: 'export.csv.crdownload', size: 200 }];
  assert.deepEqual(polls(writing, writing, writing), [null, null, null], 'its .crdownload is still there');
});

test('a file still growing is not taken; a partial download alone never is', () => {
  assert.deepEqual(polls([{ name: 'export.csv', size: 100 }], [{ name: 'export.csv', size: 200 }], [{ name: 'export.csv', size: 200 }]), [null, null, 'export.csv']);
  assert.deepEqual(polls([{ name: 'Unconfirmed 1.crdownload', size: 5 }], [{ name: 'Unconfirmed 1.crdownload', size: 5 }]), [null, null]);
  assert.deepEqual(polls([{ name: '.hidden', size: 5 }], [{ name: '.hidden', size: 5 }]), [null, null]);
});

test('a .csv is preferred to another whole file', () => {
  const both = [{ name: 'report.txt', size: 10 }, { name: 'export.csv', size: 20 }];
  assert.deepEqual(polls(both, both), [null, 'export.csv']);
});
