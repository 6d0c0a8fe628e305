/**
 * Routing as data: the most specific matching rule decides (longest BIN prefix, then more
 * criteria, then the id); a bad rule is refused with its reason; shunting draws links by weight
 * among those that are up.
 */
import t from 'tap';
import { RoutingTable, pickLink, routeProblem, type Route, type RouteQuery } from '../../src/txn/index.js';

const sale = (pan: string, extra: Partial<RouteQuery> = {}): RouteQuery => ({ pan, organisation: 'CUP', type: 'sale', mid: '898100012340001', amount: 10_000, ...extra });

const ROUTES: Route[] = [
  { id: 'on-us', match: { binPrefix: '622588' }, to: { onUs: true } },
  { id: 'cup-default', match: { organisation: 'CUP' }, to: { links: [{ link: 'cup-a', weight: 1 }] } },
  { id: 'icbc', match: { binPrefix: '6217' }, to: { links: [{ link: 'icbc-1', weight: 70 }, { link: 'icbc-2', weight: 30 }] } },
  { id: 'icbc-big', match: { binPrefix: '6217', amountMin: 1_000_000 }, to: { links: [{ link: 'icbc-2', weight: 1 }] } },
  { id: 'icbc-621700', match: { binPrefix: '621700' }, to: { links: [{ link: 'sim', weight: 1 }] } },
  { id: 'no-refunds-visa', match: { organisation: 'VIS', types: ['refund'] }, to: { reject: '57' } },
  { id: 'z-visa', match: { organisation: 'VIS' }, to: { links: [{ link: 'visa', weight: 1 }] } },
  { id: 'a-visa', match: { organisation: 'VIS' }, to: { links: [{ link: 'visa-2', weight: 1 }] } },
];

t.test('the most specific matching rule decides', async (t) => {
  const table = new RoutingTable(ROUTES);
  t.equal(table.match(sale('6225880000000018'))?.id, 'on-us', 'on-us BIN');
  t.equal(table.match(sale('6217001234567890'))?.id, 'icbc-621700', 'the longest BIN prefix wins over a shorter one');
  t.equal(table.match(sale('6217011234567890'))?.id, 'icbc', 'a shorter prefix when the longer does not match');
  t.equal(table.match(sale('6217011234567890', { amount: 1_000_000 }))?.id, 'icbc-big', 'same prefix, one more criterion (amount) wins');
  t.equal(table.match(sale('6217011234567890', { amount: 999_999 }))?.id, 'icbc', 'the amount range includes its ends only');
  t.equal(table.match(sale('6200001234567890'))?.id, 'cup-default', 'no prefix matches: the organisation rule');
  t.equal(table.match(sale('4000001234567899', { organisation: 'VIS', type: 'refund' }))?.id, 'no-refunds-visa', 'organisation plus type beats organisation alone');
  t.equal(table.match(sale('4000001234567899', { organisation: 'VIS' }))?.id, 'a-visa', 'equal specificity: the first id, whatever order the rules came in');
  t.equal(new RoutingTable([...ROUTES].reverse()).match(sale('4000001234567899', { organisation: 'VIS' }))?.id, 'a-visa', 'the same in reverse order');
  t.equal(table.match(sale('3500001234567890', { organisation: 'JCB' })), undefined, 'nothing matches: no route');
  t.equal(new RoutingTable([{ id: 'only-mid', match: { mids: ['898100012340002'] }, to: { reject: '03' } }]).match(sale('6217001234567890')), undefined, 'a merchant list excludes other merchants');
});

t.test('a bad rule is refused with its reason', async (t) => {
  t.equal(routeProblem('ok', { match: { binPrefix: '621700' }, to: { links: [{ link: 'sim', weight: 1 }] } }), null, 'a good rule passes');
  t.equal(routeProblem('ok', { match: {}, to: { onUs: true } }), null, 'an empty match is a catch-all');
  t.equal(routeProblem('ok', { match: {}, to: { links: [{ link: 'a', weight: 1 }] }, standIn: true }), null, 'a route to links may stand in');
  const bad: [string, unknown, RegExp][] = [
    ['bad id!', { match: {}, to: { onUs: true } }, /route id/],
    ['r', null, /object/],
    ['r', { id: 'other', match: {}, to: { onUs: true } }, /not its key/],
    ['r', { to: { onUs: true } }, /match must be an object/],
    ['r', { match: { bin: '62' }, to: { onUs: true } }, /unknown match criterion bin/],
    ['r', { match: { binPrefix: '62a' }, to: { onUs: true } }, /binPrefix/],
    ['r', { match: { organisation: 'cup' }, to: { onUs: true } }, /organisation/],
    ['r', { match: { types: ['purchase'] }, to: { onUs: true } }, /match.types/],
    ['r', { match: { mids: ['123'] }, to: { onUs: true } }, /15-digit/],
    ['r', { match: { amountMin: -1 }, to: { onUs: true } }, /amountMin/],
    ['r', { match: { amountMin: 10, amountMax: 5 }, to: { onUs: true } }, /above/],
    ['r', { match: {}, to: { onUs: true }, timeoutMs: 60_000 }, /timeoutMs/],
    ['r', { match: {}, to: { links: [{ link: 'a', weight: 1 }] }, standIn: 'yes' }, /standIn must be true or false/],
    ['r', { match: {}, to: { reject: '57' }, standIn: true }, /standIn needs a route to links/],
    ['r', { match: {}, to: { onUs: true }, timeoutMS: 5000 }, /unknown route field timeoutMS/],
    ['r', { match: {}, to: {} }, /exactly one/],
    ['r', { match: {}, to: { onUs: true, reject: '05' } }, /exactly one/],
    ['r', { match: {}, to: { reject: '00' } }, /other than 00/],
    ['r', { match: {}, to: { links: [] } }, /non-empty/],
    ['r', { match: {}, to: { links: [{ link: 'a', weight: 0 }] } }, /weight/],
    ['r', { match: {}, to: { links: [{ link: 'a', weight: 1 }, { link: 'a', weight: 2 }] } }, /twice/],
  ];
  for (const [id, value, reason] of bad) t.match(routeProblem(id, value), reason, `refused: ${JSON.stringify(value)}`);
});

t.test('shunting: links drawn by weight among those up; a down link is skipped for the next; none up → none', async (t) => {
  const group = [{ link: 'a', weight: 70 }, { link: 'b', weight: 20 }, { link: 'c', weight: 10 }];
  const count = (isUp: (l: string) => boolean): Record<string, number> => {
    const n: Record<string, number> = {};
    // Evenly spread draws: the proportions come out exactly as the weights say.
    for (let i = 0; i < 1000; i++) {
      const l = pickLink(group, isUp, (i + 0.5) / 1000) ?? 'none';
      n[l] = (n[l] ?? 0) + 1;
    }
    return n;
  };
  t.same(count(() => true), { a: 700, b: 200, c: 100 }, 'all up: 70/20/10');
  t.same(count((l) => l !== 'a'), { b: 667, c: 333 }, 'a down: its share goes to the others by their weights');
  t.same(count(() => false), { none: 1000 }, 'none up: no link');
  let draws = 0;
  const random = (): number => ((draws = (draws * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const n: Record<string, number> = {};
  for (let i = 0; i < 1000; i++) {
    const l = pickLink(group, () => true, random())!;
    n[l] = (n[l] ?? 0) + 1;
  }
  t.ok(Math.abs(n.a - 700) <= 50 && Math.abs(n.b - 200) <= 50 && Math.abs(n.c - 100) <= 50, `1,000 pseudo-random draws within ±5% of the weights: ${JSON.stringify(n)}`);
});
