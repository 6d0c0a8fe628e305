/**
 * A date change is the business date only once its entry is durable. The book opens the new day's
 * file when it takes the change, before the entry that opens the day is committed: a crash in
 * between leaves an empty file for a day that was never acknowledged, and a restart stays on the
 * day of the last durable entry.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Book } from '../../src/book/index.js';
import { StateStore, journalDates } from '../../src/store/index.js';
import { CHILD_ENV } from '../switch/harness.js';

const CHILD = fileURLToPath(new URL('./date-change-crash-child.js', import.meta.url));

t.test('a date change killed before its entry is durable leaves the date where it was', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posp-date-crash-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const child = spawnSync(process.execPath, [CHILD, dir], { env: CHILD_ENV, encoding: 'utf8' });
  t.equal(child.signal, 'SIGKILL', 'the child died by SIGKILL');
  t.match(child.stdout, /entered \{"seq":2\}/, 'it had entered the change, not made it durable');
  t.strictSame(journalDates(dir), ['20261124', '20261125'], 'the new day’s file exists, empty');

  const state = new StateStore(dir);
  const book = new Book(state, dir, { businessDate: '20300101', holdDays: 30, applyInline: true });
  t.teardown(async () => {
    await book.close();
    await state.close();
  });
  t.equal(await book.recover(), 0, 'nothing to replay: LMDB applied the one durable entry');
  t.equal(book.businessDate, '20261124', 'the date of the last durable entry');
  t.match(book.control({ kind: 'business-date', date: '20261125' }, Date.now()), { seq: 2 }, 'the change can be made again');
  book.commit();
  await book.sync();
  t.equal(book.businessDate, '20261125');
});
