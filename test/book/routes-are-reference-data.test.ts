/**
 * Routing rules are reference data: set and removed through the book's control channel, journalled
 * like any change, each replaced whole; a rule with a problem is refused with the reason and
 * changes nothing.
 */
import t from 'tap';
import { startInProcess } from '../switch/harness.js';

t.test('routes through the control channel: stored whole, replaced whole, removed; bad ones refused with the reason', async (t) => {
  const { sw } = await startInProcess(t);
  const first = await sw.control({
    kind: 'reference',
    table: 'routes',
    key: 'sim',
    value: { match: { binPrefix: '621700' }, to: { links: [{ link: 'sim', weight: 1 }] }, timeoutMs: 5000 },
  });
  t.match(first, { seq: Number }, 'a good route is journalled');
  sw.state.refresh();
  t.same(sw.state.routes.get('sim'), { id: 'sim', match: { binPrefix: '621700' }, to: { links: [{ link: 'sim', weight: 1 }] }, timeoutMs: 5000, standIn: false }, 'stored with its id');

  t.match(await sw.control({ kind: 'reference', table: 'routes', key: 'sim', value: { match: { organisation: 'CUP' }, to: { reject: '57' } } }), { seq: Number });
  sw.state.refresh();
  t.same(sw.state.routes.get('sim'), { id: 'sim', match: { organisation: 'CUP' }, to: { reject: '57' }, timeoutMs: 20_000, standIn: false }, 'a new version replaces the whole rule (the timeout back to its default)');

  const refused = await sw.control({ kind: 'reference', table: 'routes', key: 'sim', value: { match: { binPrefix: 'x' }, to: { onUs: true } } });
  t.same(refused, { refused: 'match.binPrefix must be 1–11 digits' }, 'a bad rule is refused with the reason');
  sw.state.refresh();
  t.same(sw.state.routes.get('sim')?.to, { reject: '57' }, 'and changes nothing');

  t.match(await sw.control({ kind: 'reference', table: 'routes', key: 'sim', value: null }), { seq: Number });
  sw.state.refresh();
  t.equal(sw.state.routes.get('sim'), undefined, 'null removes the rule');
});
