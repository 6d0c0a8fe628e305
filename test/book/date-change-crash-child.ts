/**
 * Child of date-change-crash.test.ts (not a test itself): journals one entry on the first day, then
 * asks for the next business date and dies by SIGKILL before that change's entry is committed.
 *   node date-change-crash-child.js DIR
 */
import { Book } from '../../src/book/index.js';
import { StateStore } from '../../src/store/index.js';

const dir = process.argv[2];
const state = new StateStore(dir);
const book = new Book(state, dir, { businessDate: '20261124', holdDays: 30, applyInline: true });
await book.recover();
book.control({ kind: 'reference', table: 'billers', key: 'X001', value: { code: 'X001', name: 'crash test', account: 'x' } }, Date.now());
book.commit();
await book.sync();
const entered = book.control({ kind: 'business-date', date: '20261125' }, Date.now());
process.stdout.write(`entered ${JSON.stringify(entered)}\n`);
process.kill(process.pid, 'SIGKILL');
