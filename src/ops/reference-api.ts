import type { Account } from '../store/index.js';
import { REFERENCE_SPECS, fieldProblem, keyProblem, referenceProblem, shownKey, type ReferenceRecords, type SpecifiedTable } from '../txn/index.js';
import { HttpError } from './http.js';
import type { ReferenceDesk } from './reference.js';

/**
 * What the reference-data endpoints share: the field checks of `src/txn/reference-rules.ts` against
 * LMDB (a bad change is a 400 with the book's own reason before it costs a trip to the book), body
 * and query-string checks, and paging.
 */

/** Reference records as LMDB holds them, for the checks. */
export function storedRecords(desk: ReferenceDesk): ReferenceRecords {
  const state = desk.state;
  return (table, key) => (state[table] as { get(key: string): unknown }).get(key);
}

/** `records`, with one record that a change about to be made adds (an account opened with its card). */
export function including(records: ReferenceRecords, table: SpecifiedTable, key: string, record: unknown): ReferenceRecords {
  return (t, k) => (t === table && k === key ? record : records(t, k));
}

/** Refuses a key `table` cannot have, with the reason (400). */
export function checkKey(table: SpecifiedTable, key: string): void {
  const problem = keyProblem(table, key);
  if (problem !== null) throw new HttpError(400, problem);
}

/** The record under `key`, or 404 (a malformed key: 400). */
export function storedRecord<T>(desk: ReferenceDesk, table: SpecifiedTable, key: string): T {
  checkKey(table, key);
  const record = (desk.state[table] as { get(key: string): T | undefined }).get(key);
  if (record === undefined) throw new HttpError(404, `no ${REFERENCE_SPECS[table].noun} ${shownKey(table, key)}`);
  return record;
}

/** Refuses a change the book would refuse, with the reason it would give (400). */
export function checkChange(table: SpecifiedTable, key: string, value: unknown, records: ReferenceRecords): void {
  const problem = referenceProblem(table, key, value, records(table, key), records);
  if (problem !== null) throw new HttpError(400, problem);
}

/** Checks a change against LMDB, then makes it through the book; resolves to its journal seq. */
export async function checkedChange(desk: ReferenceDesk, table: SpecifiedTable, key: string, value: unknown, who: string): Promise<number> {
  checkChange(table, key, value, storedRecords(desk));
  return desk.change(table, key, value, who);
}

/** A new account as the book opens it: its balance is its opening balance, nothing held, in CNY. */
export function newAccount(id: string, kind: 'card' | 'merchant', opening: number): Account {
  return { id, kind, balance: opening, held: 0, currency: '156', opening };
}

/** An account as an answer shows it, with what can be spent of it. */
export function accountView(account: Account): Account & { available: number } {
  return { ...account, available: account.balance - account.held };
}

/** The body as an object of the named fields only (400: not an object, or an unknown field). */
export function bodyOf<K extends string>(body: unknown, fields: readonly K[], usage: string): Partial<Record<K, unknown>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `the body is an object: ${usage}`);
  for (const name of Object.keys(body)) if (!(fields as readonly string[]).includes(name)) throw new HttpError(400, `unknown field ${name}`);
  return body as Partial<Record<K, unknown>>;
}

/** Refuses a body that leaves out a field a whole record needs. */
export function requireFields(body: Record<string, unknown>, fields: readonly string[], noun: string): void {
  for (const name of fields) if (body[name] === undefined) throw new HttpError(400, `a ${noun} needs ${name}`);
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/**
 * `?offset&limit` and the filters a list of `table` takes (fields of its records, each checked as
 * such); any other parameter is refused with its name.
 */
export function listQuery<F extends string>(query: URLSearchParams, table: SpecifiedTable, filters: readonly F[]): { offset: number; limit: number; filters: Partial<Record<F, string>> } {
  let offset = 0;
  let limit = DEFAULT_PAGE_SIZE;
  const chosen: Partial<Record<F, string>> = {};
  for (const [name, value] of query) {
    if (name === 'offset') offset = wholeNumber(name, value, 0, Number.MAX_SAFE_INTEGER);
    else if (name === 'limit') limit = wholeNumber(name, value, 1, MAX_PAGE_SIZE);
    else if ((filters as readonly string[]).includes(name)) {
      const problem = fieldProblem(table, name, value);
      if (problem !== null) throw new HttpError(400, problem);
      chosen[name as F] = value;
    } else {
      throw new HttpError(400, `unknown parameter ${name}: a list takes offset, limit, ${filters.join(', ')}`);
    }
  }
  return { offset, limit, filters: chosen };
}

function wholeNumber(name: string, value: string, min: number, max: number): number {
  const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new HttpError(400, `${name} must be a whole number ${min}–${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** One page of the records that pass `keep`, in key order, with how many passed in all. */
export function pageOf<T, V>(records: Iterable<{ value: T }>, keep: (record: T) => boolean, offset: number, limit: number, view: (record: T) => V): { total: number; offset: number; limit: number; items: V[] } {
  const items: V[] = [];
  let total = 0;
  for (const { value } of records) {
    if (!keep(value)) continue;
    if (total >= offset && items.length < limit) items.push(view(value));
    total++;
  }
  return { total, offset, limit, items };
}
